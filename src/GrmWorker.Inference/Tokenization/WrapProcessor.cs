namespace GrmWorker.Inference.Tokenization;

/// <summary>Bert/Roberta single sequence: `cls A sep`.</summary>
internal sealed class WrapProcessor(int cls, int sep) : IPostProcessor
{
    public List<int> Process(List<int> ids) => [cls, .. ids, sep];
}
