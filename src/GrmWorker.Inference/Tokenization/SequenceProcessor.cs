namespace GrmWorker.Inference.Tokenization;

internal sealed class SequenceProcessor(IPostProcessor[] processors) : IPostProcessor
{
    public List<int> Process(List<int> ids)
    {
        foreach (var processor in processors)
        {
            ids = processor.Process(ids);
        }

        return ids;
    }
}
