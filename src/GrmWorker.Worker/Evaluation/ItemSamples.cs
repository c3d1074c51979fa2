using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// What was drawn for one item: its k_max sampled judgements in draw order (request-order scores, meta scores when a
/// meta-RM ran) and the one greedy judgement (temperature 0, responses in request order).
/// </summary>
public sealed record ItemSamples(EvalItem Item, IReadOnlyList<GrmSample> Samples, GrmSample Greedy);
