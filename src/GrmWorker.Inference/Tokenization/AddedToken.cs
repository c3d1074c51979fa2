namespace GrmWorker.Inference.Tokenization;

/// <summary>An entry of tokenizer.json `added_tokens` (the JSON id is checked, HF's own id rule wins).</summary>
internal sealed record AddedToken(
    string Content,
    bool Special,
    bool SingleWord,
    bool LStrip,
    bool RStrip,
    bool Normalized);
