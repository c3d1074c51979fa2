using GrmWorker.Inference;
using GrmWorker.Scoring.Stopping;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Hosting;

/// <summary>
/// Builds <see cref="StoppingOptions"/> from three layers, last wins: the built-in defaults, the model's own (its
/// <c>grm-config.json</c> <c>stopping</c> section: the fitted prior and error bound, docs/stopping.md), then the
/// <c>Stopping</c> settings.
/// The model layer is the instance the settings are bound onto, so a setting given explicitly still overrides it.
/// </summary>
internal sealed class StoppingOptionsFactory(
    IEnumerable<IConfigureOptions<StoppingOptions>> setups,
    IEnumerable<IPostConfigureOptions<StoppingOptions>> postConfigures,
    IEnumerable<IValidateOptions<StoppingOptions>> validations,
    IOptions<ModelOptions> model)
    : OptionsFactory<StoppingOptions>(setups, postConfigures, validations)
{
    protected override StoppingOptions CreateInstance(string name) => ForModel(model.Value.Directory, new StoppingOptions());

    /// <summary>
    /// <paramref name="defaults"/> with the model's stopping section applied; unchanged when the model has none (or a
    /// config the model loader will report on start).
    /// </summary>
    public static StoppingOptions ForModel(string? modelDirectory, StoppingOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        if (string.IsNullOrWhiteSpace(modelDirectory)) return defaults;
        try
        {
            if (ModelConfig.Load(modelDirectory).Stopping is not { } s) return defaults;
            var fitted = new NoisePrior(s.DifferenceVariance, s.MeanWeight, s.VarianceWeight, Pairs: 0).ApplyTo(defaults);
            return s.ErrorBound is { } bound ? fitted with { ErrorBound = bound } : fitted;
        }
        catch (Exception ex) when (ex is ModelConfigException or IOException or UnauthorizedAccessException)
        {
            return defaults;
        }
    }
}
