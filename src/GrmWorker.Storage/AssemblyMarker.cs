namespace GrmWorker.Storage;
