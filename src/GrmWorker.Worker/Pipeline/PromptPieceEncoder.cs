namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// Prompt ids of one job's samples assembled from the ids of its prompt pieces (PromptBuilder.BuildPieces): every
/// shown order is a rearrangement of the same head, fences, responses and tail, so each piece is tokenized once per
/// job instead of every sample's whole prompt. Used only where it is exact for the job: <see cref="TryCreate"/>
/// checks that the identity order's pieces give the very ids of its whole prompt. A piece boundary always joins
/// "…]\n" to a response and a response's last newline to "[The End of Response p]"; a shown order changes only the
/// fence numbers, never the characters at those joins, so the identity order's check stands for every order. That is
/// an argument from the locality of pre-tokenization, not a proof: PromptPieceEncoderTests checks every order of
/// random jobs against whole-prompt encoding on the real Qwen3, Llama 3, DeepSeek-V3 and Gemma 3 tokenizers and the
/// bundled ones. Not thread-safe: one per job.
/// </summary>
internal sealed class PromptPieceEncoder
{
    private readonly Dictionary<string, int[]> _pieces = new(StringComparer.Ordinal);
    private readonly Func<string, int[]> _encodeFirst;
    private readonly Func<string, int[]> _encodeRest;

    private PromptPieceEncoder(Func<string, int[]> encodeFirst, Func<string, int[]> encodeRest)
    {
        _encodeFirst = encodeFirst;
        _encodeRest = encodeRest;
    }

    /// <summary>
    /// An encoder for the job whose identity-order pieces are <paramref name="identityPieces"/> and whole-prompt ids
    /// <paramref name="identityIds"/>, or null when the pieces' ids differ from those (the job encodes whole prompts).
    /// <paramref name="encodeFirst"/> encodes a prompt's start (BOS included), <paramref name="encodeRest"/> the rest.
    /// </summary>
    public static PromptPieceEncoder? TryCreate(IReadOnlyList<string> identityPieces, ReadOnlySpan<int> identityIds,
        Func<string, int[]> encodeFirst, Func<string, int[]> encodeRest)
    {
        var encoder = new PromptPieceEncoder(encodeFirst, encodeRest);
        return encoder.Encode(identityPieces).AsSpan().SequenceEqual(identityIds) ? encoder : null;
    }

    /// <summary>The ids of the prompt these pieces spell, from each piece's cached ids.</summary>
    public int[] Encode(IReadOnlyList<string> pieces)
    {
        var parts = new int[pieces.Count][];
        var length = 0;
        for (var i = 0; i < pieces.Count; i++)
        {
            // The first piece is always the head (it alone carries BOS); the others never are.
            var key = i == 0 ? "\0head\0" + pieces[i] : pieces[i];
            if (!_pieces.TryGetValue(key, out var ids)) _pieces[key] = ids = i == 0 ? _encodeFirst(pieces[i]) : _encodeRest(pieces[i]);
            parts[i] = ids;
            length += ids.Length;
        }
        var all = new int[length];
        var at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(all, at);
            at += part.Length;
        }
        return all;
    }
}
