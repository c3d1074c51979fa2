using GrmWorker.Contracts;
using GrmWorker.Inference;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Storage;
using GrmWorker.Worker.Messaging;
using GrmWorker.Worker.Pipeline;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Hosting;

/// <summary>
/// The worker's wiring, one extension per concern; `grm serve` and the tests both call <see cref="AddGrmWorker"/>.
/// Every settings class is registered one way (<see cref="AddSettings"/>): bound from its <c>Section</c>, checked when
/// the host starts by its own <c>Problems</c>, each message naming the setting.
/// </summary>
public static class WorkerServiceCollectionExtensions
{
    /// <summary>Storage + migrations at start, the model and scoring pipeline, and the bus. Order matters: hosted services start in it.</summary>
    public static IServiceCollection AddGrmWorker(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WorkerReadiness>();
        services.TryAddSingleton<WorkerMetrics>();
        services.AddGrmStorage(configuration.GetSection(StorageOptions.Section));
        services.AddHostedService<MigrationHostedService>();
        services.AddGrmScoring(configuration);
        services.AddGrmMessaging(configuration);
        services.AddGrmHttpEndpoints(configuration);
        return services;
    }

    /// <summary>/healthz, /readyz and /metrics on <see cref="HttpOptions.Url"/>.</summary>
    public static IServiceCollection AddGrmHttpEndpoints(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSettings<HttpOptions>(configuration, HttpOptions.Section, HttpOptions.Problems);
        services.AddSingleton<HttpEndpointsHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpEndpointsHostedService>());
        return services;
    }

    /// <summary>Model, inference, stopping and validation settings, the engine (loaded at start) and the pipeline.</summary>
    public static IServiceCollection AddGrmScoring(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSettings<ModelOptions>(configuration, ModelOptions.Section, ModelOptions.Problems);
        services.AddSettings<InferenceOptions>(configuration, InferenceOptions.Section, InferenceOptions.Problems);
        services.AddStoppingOptions(configuration);
        services.AddSettings<ValidationLimits>(configuration, ValidationLimits.Section, ValidationLimits.Problems);
        // The prefetch is read from configuration, not IOptions<RabbitMqOptions>: that would throw RabbitMq's own
        // validation errors here and hide the worker's.
        var rabbitSection = configuration.GetSection(RabbitMqOptions.Section);
        services.AddSettings<WorkerOptions>(configuration, WorkerOptions.Section,
            o => WorkerOptions.Problems(o, (rabbitSection.Get<RabbitMqOptions>() ?? new RabbitMqOptions()).Prefetch));
        services.AddSingleton<GrmEngine>();
        // The model by default; benchmarks and tests replace this with a canned one (tests/GrmWorker.Testing).
        services.TryAddSingleton<IGrmGenerator>(sp => sp.GetRequiredService<GrmEngine>());
        // The meta-RM of Model:MetaRmDirectory (or grm-config.json's metaRm), or none; loaded at start with the model.
        services.TryAddSingleton(sp => MetaScorerAvailability.FromSettings(
            sp.GetRequiredService<IOptions<ModelOptions>>(), sp.GetRequiredService<IOptions<InferenceOptions>>()));
        services.AddSingleton<ScoringPipeline>();
        services.AddHostedService<ModelLoaderHostedService>();
        return services;
    }

    /// <summary>
    /// <see cref="StoppingOptions"/>: the built-in defaults, then the prior fitted to the model (its grm-config.json
    /// <c>stopping</c> section; <see cref="StoppingOptionsFactory"/>), then the <c>Stopping</c> settings.
    /// </summary>
    public static IServiceCollection AddStoppingOptions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Reads Model:Directory through IOptions<ModelOptions>, which the caller binds (AddGrmScoring does).
        services.AddTransient<IOptionsFactory<StoppingOptions>, StoppingOptionsFactory>();
        services.AddSettings<StoppingOptions>(configuration, StoppingOptions.Section,
            o => StoppingOptions.Problems(o).Select(problem => $"{StoppingOptions.Section}: {problem}"));
        return services;
    }

    /// <summary>RabbitMQ settings, the result publisher and MassTransit with the <c>grm.score</c> batch endpoint.</summary>
    public static IServiceCollection AddGrmMessaging(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSettings<RabbitMqOptions>(configuration, RabbitMqOptions.Section, RabbitMqOptions.Problems);
        services.AddSingleton<ResultPublisher>();
        services.AddJobService(configuration);
        services.AddSingleton<InFlightRequests>();
        services.AddSingleton<MalformedRequestRejecter>();
        services.AddSingleton<ErrorQueue>();
        services.AddSingleton<IsolatingJobScorer>();
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromMinutes(2);
        });
        services.AddMassTransit(bus =>
        {
            bus.AddConsumer<ScoreBatchConsumer, ScoreBatchConsumerDefinition>();
            bus.UsingRabbitMq((context, cfg) =>
            {
                var o = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                cfg.Host(o.Host, (ushort)o.Port, o.VirtualHost, "grm-worker", h =>
                {
                    h.Username(o.Username);
                    h.Password(o.Password);
                    if (o.UseTls)
                    {
                        h.UseSsl(s =>
                        {
                            s.ServerName = o.ServerName;
                            if (BrokerTls.Validation(o) is { } validate) s.CertificateValidationCallback = validate;
                        });
                    }
                });
                // A key given twice is refused (the last would silently win): such a body gets a rejected result
                // naming the key (MalformedRequestRejecter).
                cfg.ConfigureJsonSerializerOptions(json =>
                {
                    json.AllowDuplicateProperties = false;
                    return json;
                });
                cfg.ConfigureEndpoints(context);
            });
        });
        return services;
    }

    /// <summary>
    /// <see cref="JobService"/> and what it needs beyond storage and scoring (retry pipelines and their <c>Resilience</c>
    /// settings, this process's claim identity): the worker, <c>relabel --local</c> and <c>grm score</c> score through it.
    /// </summary>
    public static IServiceCollection AddJobService(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSettings<ResilienceOptions>(configuration, ResilienceOptions.Section, ResilienceOptions.Problems);
        services.TryAddSingleton<WorkerResilience>();
        services.TryAddSingleton<WorkerIdentity>();
        services.TryAddSingleton<JobService>();
        return services;
    }

    /// <summary>
    /// The one way a settings class is registered: bound from its <paramref name="section"/> (the class's <c>Section</c>),
    /// checked when the host starts by <paramref name="problems"/> (the class's own <c>Problems</c>): every bad setting,
    /// each message naming it. Storage's <c>AddGrmStorage</c> registers <c>StorageOptions</c> the same way.
    /// </summary>
    internal static OptionsBuilder<T> AddSettings<T>(this IServiceCollection services, IConfiguration configuration, string section, Func<T, IEnumerable<string>> problems)
        where T : class
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>>(new ProblemsValidator<T>(problems)));
        return services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    /// <summary>An options class's own list of problems (its static <c>Problems</c>) as an options validator: all of them, named.</summary>
    private sealed class ProblemsValidator<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            problems(options).ToList() is { Count: > 0 } found ? ValidateOptionsResult.Fail(found) : ValidateOptionsResult.Success;
    }
}
