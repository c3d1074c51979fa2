namespace GrmWorker.Inference.Tokenization;

/// <summary>Builds the `normalizer` section; each normalizer is a small class below.</summary>
internal static class Normalizers
{
    public static INormalizer? Create(JsonField json)
    {
        if (json.IsNull)
        {
            return null;
        }

        return json.TypeName() switch
        {
            "NFC" => new UnicodeNormalizer(compose: true),
            "NFD" => new UnicodeNormalizer(compose: false),
            "Lowercase" => new LowercaseNormalizer(),
            "Replace" => new ReplaceNormalizer(TextPattern.Create(json.Required("pattern")), json.Required("content").GetString()),
            "Prepend" => new PrependNormalizer(json.Required("prepend").GetString()),
            "Sequence" => new SequenceNormalizer(json.Required("normalizers").Items().Select(Create).OfType<INormalizer>().ToArray()),
            _ => throw json.Unsupported("normalizer"),
        };
    }
}
