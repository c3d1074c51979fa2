namespace GrmWorker.Inference.Tokenization;

/// <summary>A tokenizer.json `post_processor`, applied to one sequence when special tokens are wanted.</summary>
internal interface IPostProcessor
{
    List<int> Process(List<int> ids);
}
