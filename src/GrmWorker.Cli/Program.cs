using System.CommandLine;
using GrmWorker.Cli.Commands;

// Ctrl+C / SIGTERM cancel the command's token; a worker then gets time to finish its batch (MassTransit's stop timeout).
return await GrmCommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(3) });
