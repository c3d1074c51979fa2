using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker.Hosting;

/// <summary>Loads the model (and the meta-RM, if any) at start, so a bad model directory or ONNX Runtime stops the worker before it takes messages.</summary>
public sealed class ModelLoaderHostedService(IServiceProvider services, WorkerReadiness readiness, ILogger<ModelLoaderHostedService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var engine = services.GetRequiredService<IGrmGenerator>();
        WorkerLog.ModelLoaded(logger, engine.ModelId, engine is GrmEngine model ? model.Config.Directory : engine.GetType().Name, engine.ContextLength);
        var metaRm = services.GetRequiredService<MetaScorerAvailability>();
        if (metaRm.IsAvailable)
            WorkerLog.MetaRmLoaded(logger, metaRm.Scorer.ModelId, metaRm.Scorer is MetaRmScorer loaded ? loaded.Directory : metaRm.Scorer.GetType().Name);
        else
            WorkerLog.NoMetaRm(logger);
        readiness.MarkModelLoaded();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
