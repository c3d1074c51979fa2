namespace GrmWorker.Inference;
