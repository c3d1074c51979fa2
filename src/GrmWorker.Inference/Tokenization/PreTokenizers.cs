namespace GrmWorker.Inference.Tokenization;

/// <summary>Builds the `pre_tokenizer` section.</summary>
internal static class PreTokenizers
{
    public static IPreTokenizer? Create(JsonField json)
    {
        if (json.IsNull)
        {
            return null;
        }

        return json.TypeName() switch
        {
            "Split" => new SplitPreTokenizer(
                TextPattern.Create(json.Required("pattern")),
                ParseBehavior(json.Required("behavior")),
                json.Optional("invert").GetBool(false)),
            "ByteLevel" => new ByteLevelPreTokenizer(
                json.Optional("add_prefix_space").GetBool(true),
                json.Optional("use_regex").GetBool(true)),
            "Digits" => new DigitsPreTokenizer(json.Optional("individual_digits").GetBool(false)),
            "Sequence" => new SequencePreTokenizer(
                json.Required("pretokenizers").Items().Select(Create).OfType<IPreTokenizer>().ToArray()),
            _ => throw json.Unsupported("pre_tokenizer"),
        };
    }

    private static SplitBehavior ParseBehavior(JsonField json) => json.GetString() switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        var other => throw JsonField.Error(json.Path, $"'{other}' is not a split behavior"),
    };
}
