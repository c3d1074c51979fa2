using GrmWorker.Inference.Generation;
using GrmWorker.Scoring.Prompting;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// What the scoring pipeline needs from a GRM: its prompt format and tokenizer, and one batched generation per
/// round. <see cref="GrmEngine"/> runs the model; tests and benches use a canned one (GrmWorker.Testing's CannedGrmGenerator: stored sample texts, no model).
/// </summary>
public interface IGrmGenerator
{
    string ModelId { get; }

    ChatFormat Chat { get; }

    /// <summary>Prompt plus generated tokens must fit in this, less <see cref="ContextMargin"/>.</summary>
    int ContextLength { get; }

    int ContextMargin { get; }

    IReadOnlyList<string> StopStrings { get; }

    /// <summary>Prompt token ids as the model sees them. Called from several threads at once.</summary>
    int[] Encode(string prompt);

    /// <summary>Ids of text that continues a prompt: the tokenizer's alone, no BOS. Called from several threads at once.</summary>
    int[] EncodeContinuation(string text);

    /// <summary>Text of generated token ids, special tokens skipped.</summary>
    string Decode(IReadOnlyList<int> ids);

    /// <summary>One batched generation over every job of a round; a round past <paramref name="timeout"/> throws <see cref="TimeoutException"/>.</summary>
    Task<GenerationResult> GenerateAsync(IReadOnlyList<GenerationJob> jobs, TimeSpan timeout, CancellationToken cancellationToken);
}
