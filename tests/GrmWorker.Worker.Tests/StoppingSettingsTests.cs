using GrmWorker.Inference;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Tests;

/// <summary>The stopping settings' layers: built-in defaults, the model's grm-config.json `stopping`, the Stopping settings.</summary>
public sealed class StoppingSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-stopping-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_models_fitted_prior_and_error_bound_apply_when_the_settings_do_not_name_them()
    {
        var model = Model("""{"differenceVariance": 5.5, "meanWeight": 1.5, "varianceWeight": 8, "errorBound": 0.1}""");

        var options = Resolve(model);

        Assert.Equal(5.5, options.PriorDifferenceVariance);
        Assert.Equal(1.5, options.PriorMeanWeight);
        Assert.Equal(8, options.PriorVarianceWeight);
        Assert.Equal(0.1, options.ErrorBound);
        Assert.False(options.JobScaledPrior);
    }

    [Fact]
    public void A_stopping_setting_given_explicitly_wins_over_the_model()
    {
        var model = Model("""{"differenceVariance": 5.5, "meanWeight": 1.5, "varianceWeight": 8, "errorBound": 0.1}""");

        var options = Resolve(model, ("Stopping:ErrorBound", "0.03"), ("Stopping:PriorMeanWeight", "2"));

        Assert.Equal(0.03, options.ErrorBound);
        Assert.Equal(2, options.PriorMeanWeight);
        Assert.Equal(5.5, options.PriorDifferenceVariance);
    }

    [Fact]
    public void A_model_without_a_stopping_section_keeps_the_built_in_prior()
    {
        var options = Resolve(Model(null));

        Assert.Equal(new StoppingOptions(), options);
    }

    private string Model(string? stopping)
    {
        File.WriteAllText(Path.Combine(_dir, "m.onnx"), "");
        File.WriteAllText(Path.Combine(_dir, "t.json"), "{}");
        var section = stopping is null ? "" : $", \"stopping\": {stopping}";
        File.WriteAllText(Path.Combine(_dir, ModelConfig.FileName),
            $$"""{"modelId": "x", "modelFile": "m.onnx", "tokenizerFile": "t.json", "contextLength": 8, "eosTokenIds": [1]{{section}}}""");
        return _dir;
    }

    private static StoppingOptions Resolve(string modelDirectory, params (string Key, string Value)[] settings)
    {
        var values = settings.ToDictionary(s => s.Key, s => (string?)s.Value);
        values[$"{ModelOptions.Section}:Directory"] = modelDirectory;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddOptions<ModelOptions>().Bind(configuration.GetSection(ModelOptions.Section));
        services.AddStoppingOptions(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<StoppingOptions>>().Value;
    }
}
