using GrmWorker.Inference;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// A loaded ONNX meta-RM. The worker's is the directory <c>Model:MetaRmDirectory</c> names, else the one grm-config.json
/// names in <c>metaRm</c>, else none (<see cref="Load"/> returns null; <see cref="MetaScorerAvailability.None"/>). Loaded
/// when the worker starts, so a bad directory stops it.
/// </summary>
public sealed class MetaRmScorer : IMetaScorer, IDisposable
{
    public const string DirectorySetting = ModelOptions.Section + ":" + nameof(ModelOptions.MetaRmDirectory);

    private readonly MetaRewardModel _model;

    /// <summary>A scorer over an already loaded model (tools and tests).</summary>
    public MetaRmScorer(MetaRewardModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>The meta-RM the settings name, loaded; null when they name none.</summary>
    public static MetaRmScorer? Load(IOptions<ModelOptions> model, IOptions<InferenceOptions> inference)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inference);
        var grm = ModelConfig.Load(Path.GetFullPath(model.Value.Directory));
        var directory = model.Value.ResolveMetaRmDirectory(grm);
        if (directory is null) return null;
        try
        {
            return new MetaRmScorer(MetaRewardModel.Load(directory, inference.Value));
        }
        catch (ModelConfigException ex)
        {
            var source = string.IsNullOrWhiteSpace(model.Value.MetaRmDirectory)
                ? $"field 'metaRm' of {Path.Combine(grm.Directory, ModelConfig.FileName)}"
                : $"setting {DirectorySetting}";
            throw new ModelConfigException(
                $"The meta-RM directory {directory} (from {source}; set {DirectorySetting}={ModelOptions.NoMetaRm} to run without one) cannot be loaded: {ex.Message}", ex);
        }
    }

    public string ModelId => _model.ModelId;

    /// <summary>Where the meta-RM's config was read from.</summary>
    public string Directory => _model.Config.Directory;

    public Task<float[]> ScoreAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
        // CPU-bound and synchronous; off the consumer's thread so the bus keeps receiving.
        Task.Run(() => _model.Score(texts, cancellationToken), cancellationToken);

    public void Dispose() => _model.Dispose();
}
