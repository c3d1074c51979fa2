namespace GrmWorker.Inference.Tokenization;

/// <summary>A tokenizer.json `decoder` (HF `decode_chain`): token strings in, strings out, joined at the end.</summary>
internal interface IDecoder
{
    List<string> DecodeChain(List<string> tokens);
}
