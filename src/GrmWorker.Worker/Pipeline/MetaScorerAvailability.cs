using System.Diagnostics.CodeAnalysis;
using GrmWorker.Worker.Hosting;
using GrmWorker.Inference;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// Whether this worker has a meta reward model, and which: with one (<see cref="IsAvailable"/>, <see cref="Scorer"/>)
/// every valid sample gets a meta score and <c>meta-rm</c> aggregation is accepted; with <see cref="None"/> a
/// <c>meta-rm</c> request is refused as unsupported. One is registered by AddGrmScoring, decided from the settings when
/// the worker starts (<see cref="FromSettings"/>); tests and tools register their own.
/// </summary>
public sealed class MetaScorerAvailability : IDisposable
{
    private MetaScorerAvailability(IMetaScorer? scorer) => Scorer = scorer;

    /// <summary>No meta-RM.</summary>
    public static MetaScorerAvailability None { get; } = new(null);

    /// <summary>The meta-RM the settings name (<see cref="MetaRmScorer.Load"/>), loaded now, or <see cref="None"/>.</summary>
    public static MetaScorerAvailability FromSettings(IOptions<ModelOptions> model, IOptions<InferenceOptions> inference) =>
        MetaRmScorer.Load(model, inference) is { } scorer ? Loaded(scorer) : None;

    /// <summary><paramref name="scorer"/> as this worker's meta-RM; disposed with this when it is disposable.</summary>
    public static MetaScorerAvailability Loaded(IMetaScorer scorer) => new(scorer ?? throw new ArgumentNullException(nameof(scorer)));

    /// <summary>The meta-RM; set exactly when <see cref="IsAvailable"/>.</summary>
    public IMetaScorer? Scorer { get; }

    [MemberNotNullWhen(true, nameof(Scorer))]
    public bool IsAvailable => Scorer is not null;

    public void Dispose() => (Scorer as IDisposable)?.Dispose();
}
