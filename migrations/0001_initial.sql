-- 0001: every row the GRM writes, per DESIGN §5. Applied once by `grm db migrate` / the worker
-- (MigrationRunner, recorded in schema_migrations with a checksum: never edit after it shipped,
-- add 0002_... instead).
-- Indices are 0-based. response_index is always the index in the REQUEST (the sample's
-- permutation has been undone); permutation[p] is the request index of the response shown at p.

CREATE TABLE scoring_jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       text NOT NULL,
    route            text NOT NULL,
    status           text NOT NULL,
    error_code       text,
    error_message    text,
    request          jsonb,            -- the request body as received (NULL only if it could not be stored as JSON)
    result           jsonb NOT NULL,   -- the result as published; published again for a duplicate requestId
    model_id         text,
    prompt_version   text,
    aggregation      text,
    samples_used     integer NOT NULL DEFAULT 0,
    samples_valid    integer NOT NULL DEFAULT 0,
    stopped_early    boolean NOT NULL DEFAULT false,
    latency_ms       double precision NOT NULL DEFAULT 0,
    prompt_tokens    bigint NOT NULL DEFAULT 0,
    generated_tokens bigint NOT NULL DEFAULT 0,
    received_at      timestamptz NOT NULL,
    completed_at     timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scoring_jobs_request_id_key UNIQUE (request_id),
    CONSTRAINT scoring_jobs_request_id_check CHECK (request_id <> ''),
    CONSTRAINT scoring_jobs_status_check CHECK (status IN ('scored', 'rejected', 'failed')),
    CONSTRAINT scoring_jobs_error_check CHECK ((status = 'scored') = (error_code IS NULL)),
    CONSTRAINT scoring_jobs_aggregation_check CHECK (aggregation IN ('voting', 'meta-rm')),
    CONSTRAINT scoring_jobs_samples_check CHECK (samples_used >= 0 AND samples_valid BETWEEN 0 AND samples_used),
    CONSTRAINT scoring_jobs_latency_check CHECK (latency_ms >= 0),
    CONSTRAINT scoring_jobs_tokens_check CHECK (prompt_tokens >= 0 AND generated_tokens >= 0),
    CONSTRAINT scoring_jobs_times_check CHECK (completed_at >= received_at)
);
CREATE INDEX scoring_jobs_created_at_idx ON scoring_jobs (created_at DESC);
CREATE INDEX scoring_jobs_status_created_at_idx ON scoring_jobs (status, created_at DESC);

CREATE TABLE job_responses (
    job_id         bigint NOT NULL REFERENCES scoring_jobs (id) ON DELETE CASCADE,
    response_index integer NOT NULL CHECK (response_index >= 0),
    text           text NOT NULL,
    PRIMARY KEY (job_id, response_index)
);

CREATE TABLE grm_samples (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id           bigint NOT NULL REFERENCES scoring_jobs (id) ON DELETE CASCADE,
    sample_index     integer NOT NULL CHECK (sample_index >= 0),
    seed             bigint NOT NULL,
    permutation      integer[] NOT NULL,
    raw_text         text NOT NULL,
    parse_status     text NOT NULL CHECK (parse_status <> ''),
    parse_reason     text,
    meta_score       double precision,
    prompt_tokens    integer NOT NULL CHECK (prompt_tokens >= 0),
    generated_tokens integer NOT NULL CHECK (generated_tokens >= 0),
    latency_ms       double precision NOT NULL CHECK (latency_ms >= 0),
    prompt_version   text NOT NULL,
    CONSTRAINT grm_samples_job_sample_key UNIQUE (job_id, sample_index),
    CONSTRAINT grm_samples_permutation_check CHECK (array_ndims(permutation) = 1 AND array_position(permutation, NULL) IS NULL)
);

-- Children of a sample reference it by (job_id, sample_index), so a whole job can be COPYed
-- without reading generated sample ids back first.
CREATE TABLE principles (
    job_id       bigint NOT NULL,
    sample_index integer NOT NULL,
    ordinal      integer NOT NULL CHECK (ordinal >= 0),
    text         text NOT NULL,
    weight       double precision CHECK (weight >= 0),   -- a fraction (0.3 for "30%"), NULL when not given
    PRIMARY KEY (job_id, sample_index, ordinal),
    FOREIGN KEY (job_id, sample_index) REFERENCES grm_samples (job_id, sample_index) ON DELETE CASCADE
);

CREATE TABLE critiques (
    job_id         bigint NOT NULL,
    sample_index   integer NOT NULL,
    response_index integer NOT NULL,
    text           text NOT NULL,
    PRIMARY KEY (job_id, sample_index, response_index),
    FOREIGN KEY (job_id, sample_index) REFERENCES grm_samples (job_id, sample_index) ON DELETE CASCADE,
    FOREIGN KEY (job_id, response_index) REFERENCES job_responses (job_id, response_index) ON DELETE CASCADE
);

CREATE TABLE scores (
    job_id         bigint NOT NULL,
    sample_index   integer NOT NULL,
    response_index integer NOT NULL,
    score          smallint NOT NULL CHECK (score BETWEEN 1 AND 10),
    PRIMARY KEY (job_id, sample_index, response_index),
    FOREIGN KEY (job_id, sample_index) REFERENCES grm_samples (job_id, sample_index) ON DELETE CASCADE,
    FOREIGN KEY (job_id, response_index) REFERENCES job_responses (job_id, response_index) ON DELETE CASCADE
);

-- One row per (job, aggregation strategy, response). Replay adds rows for a new strategy; the
-- rows of earlier strategies are never changed.
CREATE TABLE rewards (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id         bigint NOT NULL,
    strategy       text NOT NULL CHECK (strategy <> ''),
    response_index integer NOT NULL,
    value          double precision NOT NULL,
    vote_sum       double precision,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rewards_job_strategy_response_key UNIQUE (job_id, strategy, response_index),
    FOREIGN KEY (job_id, response_index) REFERENCES job_responses (job_id, response_index) ON DELETE CASCADE
);
