using GrmWorker.Bench;

// Ctrl+C / SIGTERM cancel the command's token; the pipeline bench then drops its scratch databases and queues.
return await BenchCommandLine.Build().Parse(args).InvokeAsync();
