-- The ledger's posting as one function, for Citus (issue 20). On a cluster
-- the posting statement's data-modifying CTEs run as separate subplans
-- through the coordinator; this function, distributed by p_tenant and
-- co-located with credit_balances (migrations.Distribute does that where
-- the citus extension exists), is delegated whole to the worker that holds
-- the tenant's shard: one remote round trip per posting. On one server it
-- exists but the ledger keeps its single statement (the measured hot path).
--
-- Same rules, same order as the posting statement (ledger/sql.go): lock the
-- balance row; a key already used replays (read after the lock, so a
-- duplicate that committed while this call waited is seen); the tenant
-- gate; a missing balance row; the links; the overdraft rule; balance +
-- amount overflowing raises 22003; with an LLM call, a call ref already
-- recorded is reported as 'raced'. The result row is the statement's:
-- status, the entry's columns, the balance in balance_after's place for a
-- refusal.
CREATE OR REPLACE FUNCTION ledger_post(
	p_tenant varchar, p_key varchar, p_id varchar, p_kind varchar, p_amount bigint,
	p_description varchar, p_actor varchar, p_metadata jsonb,
	p_topup_order varchar, p_llm_call varchar, p_activity varchar, p_system boolean,
	p_call_id varchar DEFAULT NULL, p_call_ref varchar DEFAULT NULL,
	p_provider varchar DEFAULT NULL, p_model varchar DEFAULT NULL,
	p_prompt_tokens bigint DEFAULT NULL, p_completion_tokens bigint DEFAULT NULL, p_latency_ms bigint DEFAULT NULL,
	p_call_status varchar DEFAULT NULL, p_error text DEFAULT NULL, p_request_id varchar DEFAULT NULL,
	p_call_activity varchar DEFAULT NULL, p_agent_config varchar DEFAULT NULL)
RETURNS TABLE (r_status text, r_id varchar, r_ref_id varchar, r_tenant_id varchar,
	r_created_at timestamptz, r_updated_at timestamptz, r_kind varchar, r_amount bigint,
	r_balance_after bigint, r_seq bigint, r_idempotency_key varchar, r_description varchar,
	r_actor varchar, r_metadata jsonb, r_topup_order_id varchar, r_llm_call_id varchar, r_activity_id varchar)
LANGUAGE plpgsql AS $$
DECLARE
	v_balance bigint;
	v_seq bigint;
	v_call varchar := p_llm_call;
	v_status text;
BEGIN
	SELECT b.balance, b.last_seq INTO v_balance, v_seq FROM credit_balances b WHERE b.tenant_id = p_tenant FOR UPDATE;
	FOR i IN 1..2 LOOP
		RETURN QUERY SELECT 'existing'::text, e.id, e.ref_id, e.tenant_id, e.created_at, e.updated_at, e.kind, e.amount,
			e.balance_after, e.seq, e.idempotency_key, e.description, e.actor, e.metadata, e.topup_order_id, e.llm_call_id, e.activity_id
			FROM credit_ledger_entries e WHERE e.tenant_id = p_tenant AND e.ref_id = p_key;
		IF FOUND THEN
			RETURN;
		END IF;
		EXIT WHEN i = 2;
		v_status := CASE
			WHEN NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p_tenant AND t.tenant_id = p_tenant
				AND t.deleted_at IS NULL AND (p_system OR t.status = 'active')) THEN 'inactive'
			WHEN v_balance IS NULL THEN 'no_balance'
			WHEN NOT ((p_topup_order IS NULL OR EXISTS (SELECT 1 FROM topup_orders o WHERE o.id = p_topup_order AND o.tenant_id = p_tenant))
				AND (p_llm_call IS NULL OR EXISTS (SELECT 1 FROM llm_call_logs l WHERE l.id = p_llm_call AND l.tenant_id = p_tenant))
				AND (p_activity IS NULL OR EXISTS (SELECT 1 FROM activities a WHERE a.id = p_activity AND a.tenant_id = p_tenant))
				AND (p_call_activity IS NULL OR EXISTS (SELECT 1 FROM activities a WHERE a.id = p_call_activity AND a.tenant_id = p_tenant))
				AND (p_agent_config IS NULL OR EXISTS (SELECT 1 FROM agent_configs g WHERE g.id = p_agent_config AND g.tenant_id = p_tenant)))
				THEN 'bad_link'
			WHEN NOT (p_amount > 0 OR p_kind = 'usage' OR v_balance + p_amount >= 0) THEN 'insufficient'
		END;
		IF v_status IS NOT NULL THEN
			RETURN QUERY SELECT v_status, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz, NULL::timestamptz,
				NULL::varchar, NULL::bigint, v_balance, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar,
				NULL::jsonb, NULL::varchar, NULL::varchar, NULL::varchar;
			RETURN;
		END IF;
		IF p_call_id IS NOT NULL THEN
			INSERT INTO llm_call_logs AS l (id, ref_id, tenant_id, created_at, updated_at, provider, model,
				prompt_tokens, completion_tokens, cost, latency_ms, status, error, request_id, activity_id, agent_config_id)
			VALUES (p_call_id, p_call_ref, p_tenant, now(), now(), p_provider, p_model, p_prompt_tokens, p_completion_tokens,
				-p_amount, p_latency_ms, p_call_status, p_error, p_request_id, p_call_activity, p_agent_config)
			ON CONFLICT (tenant_id, ref_id) DO NOTHING
			RETURNING l.id INTO v_call;
			IF NOT FOUND THEN
				-- The call is recorded already, without this debit: the
				-- caller reads the key again and reports the conflict.
				RETURN QUERY SELECT 'raced'::text, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz, NULL::timestamptz,
					NULL::varchar, NULL::bigint, v_balance, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar,
					NULL::jsonb, NULL::varchar, NULL::varchar, NULL::varchar;
				RETURN;
			END IF;
		END IF;
		RETURN QUERY INSERT INTO credit_ledger_entries AS e (id, ref_id, tenant_id, created_at, updated_at, kind, amount,
			balance_after, seq, idempotency_key, description, actor, metadata, topup_order_id, llm_call_id, activity_id)
		VALUES (p_id, p_key, p_tenant, now(), now(), p_kind, p_amount, v_balance + p_amount, v_seq + 1, p_key,
			p_description, p_actor, p_metadata, p_topup_order, v_call, p_activity)
		ON CONFLICT (tenant_id, ref_id) DO NOTHING
		RETURNING 'inserted'::text, e.id, e.ref_id, e.tenant_id, e.created_at, e.updated_at, e.kind, e.amount,
			e.balance_after, e.seq, e.idempotency_key, e.description, e.actor, e.metadata, e.topup_order_id, e.llm_call_id, e.activity_id;
		IF FOUND THEN
			UPDATE credit_balances b SET balance = v_balance + p_amount, last_seq = v_seq + 1, updated_at = now()
			WHERE b.tenant_id = p_tenant;
			RETURN;
		END IF;
		-- A key written without taking the balance lock (ingestion): read
		-- it again.
	END LOOP;
	RETURN QUERY SELECT 'raced'::text, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz, NULL::timestamptz,
		NULL::varchar, NULL::bigint, v_balance, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar,
		NULL::jsonb, NULL::varchar, NULL::varchar, NULL::varchar;
END
$$;

-- ledger_post_batch applies postings of the tenants of one shard group in
-- one call (distributed by p_anchor, one of those tenants): PostBatch and
-- the RecordLLMCall batcher on Citus, one delegated call per shard. The
-- caller orders postings by tenant (the locks' order) and, within a
-- tenant, in batch order. A posting whose write raises a data error (an
-- overflow, an LLM call already billed, a caller-chosen id taken) is rolled
-- back alone and reported as status 'error' with the error's SQLSTATE,
-- table, constraint and message, which the caller maps as Post maps the
-- error; the postings after it go on, as they would one at a time. ord is
-- the posting's index in the arrays, from 0.
CREATE OR REPLACE FUNCTION ledger_post_batch(
	p_anchor varchar, p_system boolean,
	p_tenants varchar[], p_keys varchar[], p_ids varchar[], p_kinds varchar[], p_amounts bigint[],
	p_descriptions varchar[], p_actors varchar[], p_metadata jsonb[],
	p_topup_orders varchar[], p_llm_calls varchar[], p_activities varchar[],
	p_call_ids varchar[] DEFAULT NULL, p_call_refs varchar[] DEFAULT NULL,
	p_providers varchar[] DEFAULT NULL, p_models varchar[] DEFAULT NULL,
	p_prompt_tokens bigint[] DEFAULT NULL, p_completion_tokens bigint[] DEFAULT NULL, p_latencies bigint[] DEFAULT NULL,
	p_call_statuses varchar[] DEFAULT NULL, p_errors text[] DEFAULT NULL, p_request_ids varchar[] DEFAULT NULL,
	p_call_activities varchar[] DEFAULT NULL, p_agent_configs varchar[] DEFAULT NULL)
RETURNS TABLE (r_ord integer, r_status text, r_id varchar, r_ref_id varchar, r_tenant_id varchar,
	r_created_at timestamptz, r_updated_at timestamptz, r_kind varchar, r_amount bigint,
	r_balance_after bigint, r_seq bigint, r_idempotency_key varchar, r_description varchar,
	r_actor varchar, r_metadata jsonb, r_topup_order_id varchar, r_llm_call_id varchar, r_activity_id varchar,
	r_error_code text, r_error_table text, r_error_constraint text, r_error_message text)
LANGUAGE plpgsql AS $$
DECLARE
	v_code text;
	v_table text;
	v_constraint text;
	v_message text;
BEGIN
	FOR i IN 1..coalesce(array_length(p_tenants, 1), 0) LOOP
		BEGIN
			RETURN QUERY SELECT i - 1, r.*, NULL::text, NULL::text, NULL::text, NULL::text FROM ledger_post(p_tenants[i], p_keys[i], p_ids[i], p_kinds[i], p_amounts[i],
				p_descriptions[i], p_actors[i], p_metadata[i], p_topup_orders[i], p_llm_calls[i], p_activities[i], p_system,
				p_call_ids[i], p_call_refs[i], p_providers[i], p_models[i], p_prompt_tokens[i], p_completion_tokens[i],
				p_latencies[i], p_call_statuses[i], p_errors[i], p_request_ids[i], p_call_activities[i], p_agent_configs[i]) r;
		EXCEPTION WHEN numeric_value_out_of_range OR unique_violation OR check_violation OR string_data_right_truncation THEN
			GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_table = TABLE_NAME,
				v_constraint = CONSTRAINT_NAME, v_message = MESSAGE_TEXT;
			RETURN QUERY SELECT i - 1, 'error'::text, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz,
				NULL::timestamptz, NULL::varchar, NULL::bigint, NULL::bigint, NULL::bigint, NULL::varchar, NULL::varchar,
				NULL::varchar, NULL::jsonb, NULL::varchar, NULL::varchar, NULL::varchar, v_code, v_table, v_constraint, v_message;
		END;
	END LOOP;
END
$$;
