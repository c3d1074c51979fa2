namespace GrmWorker.Inference.Tokenization;

/// <summary>Builds the `decoder` section.</summary>
internal static class Decoders
{
    public static IDecoder? Create(JsonField json)
    {
        if (json.IsNull)
        {
            return null;
        }

        return json.TypeName() switch
        {
            "ByteLevel" => new ByteLevelDecoder(),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Replace" => new ReplaceDecoder(TextPattern.Create(json.Required("pattern")), json.Required("content").GetString()),
            "Strip" => new StripDecoder(
                SingleChar(json.Required("content")), json.Optional("start").GetInt32OrZero(), json.Optional("stop").GetInt32OrZero()),
            "Metaspace" => new MetaspaceDecoder(
                SingleChar(json.Required("replacement")), json.Optional("prepend_scheme").GetStringOrNull() != "never"
                    && json.Optional("add_prefix_space").GetBool(true)),
            "Sequence" => new SequenceDecoder(json.Required("decoders").Items().Select(Create).OfType<IDecoder>().ToArray()),
            _ => throw json.Unsupported("decoder"),
        };
    }

    private static string SingleChar(JsonField json)
    {
        var s = json.GetString();
        return s.EnumerateRunes().Count() == 1 ? s : throw JsonField.Error(json.Path, "must be a single character");
    }

    private static int GetInt32OrZero(this JsonField json) => json.IsNull ? 0 : json.GetInt32();
}
