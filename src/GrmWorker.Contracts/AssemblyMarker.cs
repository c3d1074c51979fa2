namespace GrmWorker.Contracts;
