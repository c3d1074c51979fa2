namespace GrmWorker.Inference.Tokenization;

/// <summary>HF `TemplateProcessing`, single-sequence template: e.g. `&lt;bos&gt; $A`.</summary>
internal sealed class TemplateProcessor(int[][] pieces) : IPostProcessor
{
    /// <summary>Each piece is the ids of a special token, or null for the sequence itself.</summary>
    public List<int> Process(List<int> ids)
    {
        var result = new List<int>(ids.Count + 4);
        foreach (var piece in pieces)
        {
            if (piece.Length == 0)
            {
                result.AddRange(ids);
            }
            else
            {
                result.AddRange(piece);
            }
        }

        return result;
    }

    public static TemplateProcessor Create(JsonField json)
    {
        var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (name, value) in json.Optional("special_tokens") is { IsNull: false } map ? map.Properties() : [])
        {
            specials[name] = value.Required("ids").Items().Select(i => i.GetInt32()).ToArray();
        }

        var pieces = new List<int[]>();
        foreach (var item in json.Required("single").Items())
        {
            var special = item.Optional("SpecialToken");
            if (special.IsNull)
            {
                // {"Sequence": {"id": "A"}}: the input ids go here.
                item.Required("Sequence");
                pieces.Add([]);
                continue;
            }

            var id = special.Required("id");
            pieces.Add(specials.TryGetValue(id.GetString(), out var ids) && ids.Length > 0
                ? ids
                : throw JsonField.Error(id.Path, $"names '{id.GetString()}', which is not in special_tokens"));
        }

        return new TemplateProcessor([.. pieces]);
    }
}
