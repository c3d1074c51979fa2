using GrmWorker.App.Commands;

return await GrmCommandLine.Build().Parse(args).InvokeAsync();
