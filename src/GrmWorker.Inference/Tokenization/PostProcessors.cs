namespace GrmWorker.Inference.Tokenization;

/// <summary>Builds the `post_processor` section. ByteLevel only trims offsets, so it leaves ids alone.</summary>
internal static class PostProcessors
{
    public static IPostProcessor? Create(JsonField json)
    {
        if (json.IsNull)
        {
            return null;
        }

        return json.TypeName() switch
        {
            "ByteLevel" => null,
            "TemplateProcessing" => TemplateProcessor.Create(json),
            "BertProcessing" => new WrapProcessor(IdOf(json.Required("cls")), IdOf(json.Required("sep"))),
            "RobertaProcessing" => new WrapProcessor(IdOf(json.Required("cls")), IdOf(json.Required("sep"))),
            "Sequence" => new SequenceProcessor(
                json.Required("processors").Items().Select(Create).OfType<IPostProcessor>().ToArray()),
            _ => throw json.Unsupported("post_processor"),
        };
    }

    /// <summary>`["[CLS]", 101]`: the id is the second item.</summary>
    private static int IdOf(JsonField pair) => pair.Items().ElementAtOrDefault(1) is { Path: not null } id
        ? id.GetInt32()
        : throw JsonField.Error(pair.Path, "must be [token, id]");
}
