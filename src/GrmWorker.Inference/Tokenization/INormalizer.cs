namespace GrmWorker.Inference.Tokenization;

/// <summary>A tokenizer.json `normalizer`. Only ids matter here, so offsets are not tracked.</summary>
internal interface INormalizer
{
    string Normalize(string text);
}
