namespace GrmWorker.Scoring;
