-- The head migration's SQLite schema, by `python -m reelflow.db.snapshot`.
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE tasks (
	id VARCHAR(40) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	priority INTEGER NOT NULL, 
	workflow_id INTEGER, 
	session_id VARCHAR(50) NOT NULL, 
	session_context TEXT NOT NULL, 
	request JSON NOT NULL, 
	source JSON NOT NULL, 
	media_info JSON, 
	err_code VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	updated_at DATETIME NOT NULL, account_id INTEGER, 
	CONSTRAINT pk_tasks PRIMARY KEY (id)
);
CREATE INDEX ix_tasks_state_created_at ON tasks (state, created_at);
CREATE INDEX ix_tasks_session_id ON tasks (session_id);
CREATE INDEX ix_tasks_workflow_id ON tasks (workflow_id);
CREATE TABLE jobs (
	id INTEGER NOT NULL, 
	task_id VARCHAR(40) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	priority INTEGER NOT NULL, 
	payload JSON NOT NULL, 
	subtasks JSON NOT NULL, 
	attempt INTEGER NOT NULL, 
	max_attempts INTEGER NOT NULL, 
	lease_owner VARCHAR(128), 
	lease_expires_at DATETIME, 
	not_before DATETIME NOT NULL, 
	progress DOUBLE NOT NULL, 
	err_code VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, outage_since DATETIME, account_id INTEGER DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_jobs PRIMARY KEY (id), 
	CONSTRAINT fk_jobs_task_id_tasks FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE
);
CREATE INDEX ix_jobs_task_id ON jobs (task_id);
CREATE TABLE subtasks (
	id INTEGER NOT NULL, 
	task_id VARCHAR(40) NOT NULL, 
	"index" INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	progress DOUBLE NOT NULL, 
	err_code VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	spec JSON NOT NULL, 
	output JSON, 
	job_id INTEGER, 
	attempts INTEGER NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, quality JSON, 
	CONSTRAINT pk_subtasks PRIMARY KEY (id), 
	CONSTRAINT uq_subtasks_task_id_index UNIQUE (task_id, "index"), 
	CONSTRAINT fk_subtasks_task_id_tasks FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE, 
	CONSTRAINT fk_subtasks_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id) ON DELETE SET NULL
);
CREATE TABLE accounts (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_accounts PRIMARY KEY (id), 
	CONSTRAINT uq_accounts_name UNIQUE (name)
);
CREATE TABLE api_keys (
	id INTEGER NOT NULL, 
	secret_id VARCHAR(64) NOT NULL, 
	secret_key VARCHAR(128) NOT NULL, 
	secret_hash VARCHAR(64) NOT NULL, 
	account_id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	CONSTRAINT pk_api_keys PRIMARY KEY (id), 
	CONSTRAINT uq_api_keys_secret_id UNIQUE (secret_id), 
	CONSTRAINT fk_api_keys_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_api_keys_secret_hash ON api_keys (secret_hash);
CREATE INDEX ix_api_keys_account_id ON api_keys (account_id);
CREATE TABLE buckets (
	id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	account_id INTEGER NOT NULL, 
	backend VARCHAR(16) NOT NULL, 
	path TEXT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_buckets PRIMARY KEY (id), 
	CONSTRAINT uq_buckets_name UNIQUE (name), 
	CONSTRAINT fk_buckets_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_buckets_account_id ON buckets (account_id);
CREATE TABLE templates (
	definition INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	kind VARCHAR(32) NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	comment VARCHAR(256) NOT NULL, 
	body JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT fk_templates_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_templates_account_id_kind ON templates (account_id, kind);
CREATE TABLE workflows (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	trigger_bucket VARCHAR(255) NOT NULL, 
	spec JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_workflows PRIMARY KEY (id), 
	CONSTRAINT uq_workflows_account_id_name UNIQUE (account_id, name), 
	CONSTRAINT fk_workflows_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_workflows_trigger_bucket_enabled ON workflows (trigger_bucket, enabled);
CREATE TABLE notify_events (
	id VARCHAR(40) NOT NULL, 
	task_id VARCHAR(40) NOT NULL, 
	account_id INTEGER, 
	workflow_id INTEGER, 
	seq INTEGER NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	body JSON NOT NULL, 
	target JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_notify_events PRIMARY KEY (id), 
	CONSTRAINT uq_notify_events_task_id_seq UNIQUE (task_id, seq), 
	CONSTRAINT fk_notify_events_task_id_tasks FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE
);
CREATE INDEX ix_notify_events_workflow_id ON notify_events (workflow_id);
CREATE TABLE notify_deliveries (
	id INTEGER NOT NULL, 
	event_id VARCHAR(40) NOT NULL, 
	account_id INTEGER, 
	target_key VARCHAR(64) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	claimed_by VARCHAR(128), 
	give_up_at DATETIME NOT NULL, 
	last_error TEXT NOT NULL, 
	last_status INTEGER, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	delivered_at DATETIME, 
	CONSTRAINT pk_notify_deliveries PRIMARY KEY (id), 
	CONSTRAINT fk_notify_deliveries_event_id_notify_events FOREIGN KEY(event_id) REFERENCES notify_events (id) ON DELETE CASCADE
);
CREATE INDEX ix_notify_deliveries_state_next_attempt_at ON notify_deliveries (state, next_attempt_at);
CREATE INDEX ix_notify_deliveries_event_id ON notify_deliveries (event_id);
CREATE INDEX ix_notify_deliveries_account_id_id ON notify_deliveries (account_id, id);
CREATE TABLE notify_attempts (
	id INTEGER NOT NULL, 
	delivery_id INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	duration_ms DOUBLE NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	status_code INTEGER, 
	error TEXT NOT NULL, 
	worker VARCHAR(128) NOT NULL, 
	CONSTRAINT pk_notify_attempts PRIMARY KEY (id), 
	CONSTRAINT fk_notify_attempts_delivery_id_notify_deliveries FOREIGN KEY(delivery_id) REFERENCES notify_deliveries (id) ON DELETE CASCADE
);
CREATE INDEX ix_notify_attempts_delivery_id ON notify_attempts (delivery_id);
CREATE TABLE queue_messages (
	id INTEGER NOT NULL, 
	account_id INTEGER, 
	queue VARCHAR(128) NOT NULL, 
	event_id VARCHAR(40) NOT NULL, 
	body JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	visible_at DATETIME NOT NULL, 
	receive_count INTEGER NOT NULL, 
	receipt VARCHAR(64), 
	CONSTRAINT pk_queue_messages PRIMARY KEY (id)
);
CREATE INDEX ix_queue_messages_account_id_queue_visible_at ON queue_messages (account_id, queue, visible_at);
CREATE INDEX ix_queue_messages_receipt ON queue_messages (receipt);
CREATE TABLE triggered_objects (
	id INTEGER NOT NULL, 
	workflow_id INTEGER NOT NULL, 
	bucket VARCHAR(255) NOT NULL, 
	"key" TEXT NOT NULL, 
	version VARCHAR(1024) NOT NULL, 
	object_hash VARCHAR(64) NOT NULL, 
	task_id VARCHAR(40) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_triggered_objects PRIMARY KEY (id), 
	CONSTRAINT uq_triggered_objects_workflow_id_object_hash UNIQUE (workflow_id, object_hash)
);
CREATE INDEX ix_triggered_objects_task_id ON triggered_objects (task_id);
CREATE TABLE own_outputs (
	id INTEGER NOT NULL, 
	bucket VARCHAR(255) NOT NULL, 
	"key" TEXT NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	task_id VARCHAR(40) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_own_outputs PRIMARY KEY (id)
);
CREATE INDEX ix_own_outputs_key_hash ON own_outputs (key_hash);
CREATE TABLE trigger_checkpoints (
	bucket VARCHAR(255) NOT NULL, 
	floor DATETIME, 
	watermark DATETIME, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_trigger_checkpoints PRIMARY KEY (bucket)
);
CREATE INDEX ix_queue_messages_account_id_queue_event_id ON queue_messages (account_id, queue, event_id);
CREATE TABLE schedules (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	trigger_bucket VARCHAR(255) NOT NULL, 
	spec JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_schedules PRIMARY KEY (id), 
	CONSTRAINT uq_schedules_account_id_name UNIQUE (account_id, name), 
	CONSTRAINT fk_schedules_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_schedules_trigger_bucket_enabled ON schedules (trigger_bucket, enabled);
CREATE INDEX ix_jobs_claim ON jobs (state, account_id, priority DESC, created_at, id);
CREATE INDEX ix_jobs_state_lease_expires_at ON jobs (state, lease_expires_at);
CREATE INDEX ix_tasks_account_id_created_at_id ON tasks (account_id, created_at, id);
CREATE INDEX ix_tasks_account_id_state_created_at_id ON tasks (account_id, state, created_at, id);
CREATE INDEX ix_tasks_finished_at ON tasks (finished_at);
CREATE TABLE deferred_triggers (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	workflow_id INTEGER NOT NULL, 
	schedule BOOLEAN NOT NULL, 
	bucket VARCHAR(255) NOT NULL, 
	"key" TEXT NOT NULL, 
	version VARCHAR(1024) NOT NULL, 
	object_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_deferred_triggers PRIMARY KEY (id), 
	CONSTRAINT uq_deferred_triggers_workflow_id_object_hash UNIQUE (workflow_id, object_hash)
);
CREATE INDEX ix_deferred_triggers_account_id_id ON deferred_triggers (account_id, id);
CREATE INDEX ix_tasks_account_id_finished_at_state ON tasks (account_id, finished_at, state);
CREATE TABLE chunk_leftovers (
	id INTEGER NOT NULL, 
	task_id VARCHAR(64) NOT NULL, 
	bucket VARCHAR(255) NOT NULL, 
	prefix VARCHAR(1024) NOT NULL, 
	attempts INTEGER NOT NULL, 
	not_before DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_chunk_leftovers PRIMARY KEY (id), 
	CONSTRAINT uq_chunk_leftovers_bucket_prefix UNIQUE (bucket, prefix)
);
CREATE INDEX ix_chunk_leftovers_not_before ON chunk_leftovers (not_before);
INSERT INTO "alembic_version" ("version_num") VALUES ('0012');
INSERT INTO "sqlite_sequence" ("name", "seq") VALUES ('templates', 999999);
