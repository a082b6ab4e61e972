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
-- the RecordLLMCall batcher on Citus, one delegated call per shard; the
-- caller orders postings by tenant (the locks' order) and, within a
-- tenant, in batch order. Set-based: one posting at a time with
-- ledger_post, every posting would cost its five statements through
-- Citus's planner on the worker (2-3 ms each, measured), so a batch would
-- cost per posting what a delegated Post costs. Here a group costs a
-- fixed number of statements whatever its size, as ledger/batchset.go on
-- one server: lock the group's balance rows in tenant order; read, after
-- the lock, the tenants, the keys already used, the links and the LLM
-- calls already recorded; decide each posting in array order with
-- ledger_post's rules in ledger_post's order (a refused posting never
-- counts toward the next ones); one INSERT ... SELECT FROM unnest writes
-- the entries (and the calls), one UPDATE per tenant its balance; the
-- results are read back in one query. Every statement on a distributed
-- table filters on tenant_id = ANY(the group's tenants), so that inside
-- the delegated call Citus routes it to the group's shard, on this worker.
--
-- A write that raises a data error (an overflow, an LLM call already
-- billed, a caller-chosen id taken, a value too long) or a key or call
-- written meanwhile without the balance lock (ingestion) rolls back the
-- set-based attempt alone, and the group is applied one posting at a time
-- (the loop below), each posting's error its own result: the exact outcomes for
-- the rare case, the fast path for the common one. The caller is
-- ledger/shardbatch.go.
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
	v_n int := coalesce(array_length(p_tenants, 1), 0);
	v_calls boolean := p_call_ids IS NOT NULL;
	v_tenants varchar[];                 -- the group's tenants, sorted
	v_ti int[];                          -- per posting: its tenant's index in v_tenants
	v_kf int[];                          -- per posting: the first posting with its key
	v_cf int[];                          -- per posting: the first posting with its call ref
	v_has boolean[]; v_live boolean[]; v_active boolean[]; v_bal bigint[]; v_seq bigint[]; v_moved boolean[];
	v_found text[];                      -- keys, links and call refs that exist: kind, tenant, id
	v_known boolean[]; v_badlink boolean[]; v_called boolean[];
	v_keydone boolean[]; v_calldone boolean[];
	v_st text[]; v_rbal bigint[]; v_after bigint[]; v_seqs bigint[];
	v_count bigint;
	v_want bigint := 0;
	v_slow boolean := false;
	t int;
	v_t varchar;
	v_b bigint;
	v_s bigint;
	r record;
	v_code text;
	v_table text;
	v_constraint text;
	v_message text;
BEGIN
	IF v_n = 0 THEN
		RETURN;
	END IF;
	-- Filled by subscript, read by unnest: they must start at 1.
	v_st := array_fill(NULL::text, ARRAY[v_n]);
	v_rbal := array_fill(NULL::bigint, ARRAY[v_n]);
	v_after := v_rbal;
	v_seqs := v_rbal;
	v_keydone := array_fill(NULL::boolean, ARRAY[v_n]);
	v_calldone := v_keydone;
	BEGIN
		SELECT array_agg(d.t ORDER BY d.t) INTO v_tenants FROM (SELECT DISTINCT u.t FROM unnest(p_tenants) AS u(t)) d;
		v_has := array_fill(NULL::boolean, ARRAY[array_length(v_tenants, 1)]);
		v_live := v_has; v_active := v_has; v_moved := v_has;
		v_bal := array_fill(NULL::bigint, ARRAY[array_length(v_tenants, 1)]);
		v_seq := v_bal;
		SELECT array_agg(s.ti ORDER BY s.o), array_agg(s.kf ORDER BY s.o), array_agg(s.cf ORDER BY s.o)
			INTO v_ti, v_kf, v_cf
			FROM (SELECT u.o::int AS o, d.i::int AS ti,
				(min(u.o) OVER (PARTITION BY u.t, u.k))::int AS kf, (min(u.o) OVER (PARTITION BY u.t, u.c))::int AS cf
				FROM unnest(p_tenants, p_keys, p_call_refs) WITH ORDINALITY AS u(t, k, c, o)
				JOIN unnest(v_tenants) WITH ORDINALITY AS d(t, i) ON d.t = u.t) s;
		-- The locks first: each later statement takes its snapshot after
		-- them, so a duplicate committed while this call waited is seen.
		FOR r IN SELECT b.tenant_id, b.balance, b.last_seq FROM credit_balances b
			WHERE b.tenant_id = ANY(v_tenants) ORDER BY b.tenant_id FOR UPDATE LOOP
			t := array_position(v_tenants, r.tenant_id);
			v_has[t] := true; v_bal[t] := r.balance; v_seq[t] := r.last_seq;
		END LOOP;
		FOR r IN SELECT g.id, g.deleted_at IS NULL AS live, g.deleted_at IS NULL AND g.status = 'active' AS active
			FROM tenants g WHERE g.tenant_id = ANY(v_tenants) AND g.id = g.tenant_id LOOP
			t := array_position(v_tenants, r.id);
			v_live[t] := r.live; v_active[t] := r.active;
		END LOOP;
		SELECT array_agg('k' || chr(31) || e.tenant_id || chr(31) || e.ref_id) INTO v_found
			FROM credit_ledger_entries e WHERE e.tenant_id = ANY(v_tenants) AND e.ref_id = ANY(p_keys);
		IF EXISTS (SELECT 1 FROM unnest(p_topup_orders) AS u(i) WHERE u.i IS NOT NULL) THEN
			v_found := v_found || ARRAY(SELECT 'o' || chr(31) || x.tenant_id || chr(31) || x.id
				FROM topup_orders x WHERE x.tenant_id = ANY(v_tenants) AND x.id = ANY(p_topup_orders));
		END IF;
		IF EXISTS (SELECT 1 FROM unnest(p_llm_calls) AS u(i) WHERE u.i IS NOT NULL) THEN
			v_found := v_found || ARRAY(SELECT 'l' || chr(31) || x.tenant_id || chr(31) || x.id
				FROM llm_call_logs x WHERE x.tenant_id = ANY(v_tenants) AND x.id = ANY(p_llm_calls));
		END IF;
		IF EXISTS (SELECT 1 FROM unnest(p_activities, p_call_activities) AS u(a, b) WHERE u.a IS NOT NULL OR u.b IS NOT NULL) THEN
			v_found := v_found || ARRAY(SELECT 'a' || chr(31) || x.tenant_id || chr(31) || x.id
				FROM activities x WHERE x.tenant_id = ANY(v_tenants) AND (x.id = ANY(p_activities) OR x.id = ANY(p_call_activities)));
		END IF;
		IF EXISTS (SELECT 1 FROM unnest(p_agent_configs) AS u(i) WHERE u.i IS NOT NULL) THEN
			v_found := v_found || ARRAY(SELECT 'g' || chr(31) || x.tenant_id || chr(31) || x.id
				FROM agent_configs x WHERE x.tenant_id = ANY(v_tenants) AND x.id = ANY(p_agent_configs));
		END IF;
		IF v_calls THEN
			v_found := v_found || ARRAY(SELECT 'c' || chr(31) || x.tenant_id || chr(31) || x.ref_id
				FROM llm_call_logs x WHERE x.tenant_id = ANY(v_tenants) AND x.ref_id = ANY(p_call_refs));
		END IF;
		-- Per posting, against what exists (hash joins on local arrays).
		SELECT array_agg(s.known ORDER BY s.o), array_agg(s.bad ORDER BY s.o), array_agg(s.called ORDER BY s.o)
			INTO v_known, v_badlink, v_called
			FROM (SELECT u.o,
				fk.f IS NOT NULL AS known,
				(u.ord IS NOT NULL AND fo.f IS NULL) OR (u.call IS NOT NULL AND fl.f IS NULL)
					OR (u.act IS NOT NULL AND fa.f IS NULL) OR (u.cact IS NOT NULL AND fca.f IS NULL)
					OR (u.cfg IS NOT NULL AND fg.f IS NULL) AS bad,
				fc.f IS NOT NULL AS called
				FROM unnest(p_tenants, p_keys, p_topup_orders, p_llm_calls, p_activities, p_call_activities, p_agent_configs, p_call_refs)
					WITH ORDINALITY AS u(t, k, ord, call, act, cact, cfg, cref, o)
				LEFT JOIN unnest(v_found) AS fk(f) ON fk.f = 'k' || chr(31) || u.t || chr(31) || u.k
				LEFT JOIN unnest(v_found) AS fo(f) ON fo.f = 'o' || chr(31) || u.t || chr(31) || u.ord
				LEFT JOIN unnest(v_found) AS fl(f) ON fl.f = 'l' || chr(31) || u.t || chr(31) || u.call
				LEFT JOIN unnest(v_found) AS fa(f) ON fa.f = 'a' || chr(31) || u.t || chr(31) || u.act
				LEFT JOIN unnest(v_found) AS fca(f) ON fca.f = 'a' || chr(31) || u.t || chr(31) || u.cact
				LEFT JOIN unnest(v_found) AS fg(f) ON fg.f = 'g' || chr(31) || u.t || chr(31) || u.cfg
				LEFT JOIN unnest(v_found) AS fc(f) ON fc.f = 'c' || chr(31) || u.t || chr(31) || u.cref) s;
		-- ledger_post's rules, in its order, posting after posting.
		FOR i IN 1..v_n LOOP
			t := v_ti[i];
			v_rbal[i] := v_bal[t];
			IF v_known[i] OR coalesce(v_keydone[v_kf[i]], false) THEN
				v_st[i] := 'existing';
			ELSIF NOT coalesce(v_live[t] AND (p_system OR v_active[t]), false) THEN
				v_st[i] := 'inactive';
			ELSIF v_has[t] IS NULL THEN
				v_st[i] := 'no_balance';
			ELSIF v_badlink[i] THEN
				v_st[i] := 'bad_link';
			ELSIF NOT (p_amounts[i] > 0 OR p_kinds[i] = 'usage' OR v_bal[t] + p_amounts[i] >= 0) THEN
				v_st[i] := 'insufficient';
			ELSIF v_calls AND p_call_ids[i] IS NOT NULL AND (v_called[i] OR coalesce(v_calldone[v_cf[i]], false)) THEN
				v_st[i] := 'raced';
			ELSE
				v_bal[t] := v_bal[t] + p_amounts[i]; -- an overflow raises 22003: one at a time below
				v_seq[t] := v_seq[t] + 1;
				v_moved[t] := true;
				v_after[i] := v_bal[t];
				v_seqs[i] := v_seq[t];
				v_st[i] := 'inserted';
				v_keydone[v_kf[i]] := true;
				IF v_calls AND p_call_ids[i] IS NOT NULL THEN
					v_calldone[v_cf[i]] := true;
				END IF;
				v_want := v_want + 1;
			END IF;
		END LOOP;
		IF v_want > 0 THEN
			IF v_calls THEN
				INSERT INTO llm_call_logs AS l (id, ref_id, tenant_id, created_at, updated_at, provider, model,
					prompt_tokens, completion_tokens, cost, latency_ms, status, error, request_id, activity_id, agent_config_id)
				SELECT u.id, u.r, u.t, now(), now(), u.provider, u.model, u.pt, u.ct, -u.amount, u.lat, u.status, u.err, u.req, u.act, u.cfg
				FROM unnest(p_call_ids, p_call_refs, p_tenants, p_providers, p_models, p_prompt_tokens, p_completion_tokens,
					p_amounts, p_latencies, p_call_statuses, p_errors, p_request_ids, p_call_activities, p_agent_configs, v_st)
					AS u(id, r, t, provider, model, pt, ct, amount, lat, status, err, req, act, cfg, st)
				WHERE u.st = 'inserted' AND u.id IS NOT NULL
				ON CONFLICT (tenant_id, ref_id) DO NOTHING;
				GET DIAGNOSTICS v_count = ROW_COUNT;
				IF v_count <> (SELECT count(*) FROM unnest(p_call_ids, v_st) AS u(id, st) WHERE u.st = 'inserted' AND u.id IS NOT NULL) THEN
					RAISE EXCEPTION 'an LLM call was recorded meanwhile' USING ERRCODE = 'LP001';
				END IF;
			END IF;
			INSERT INTO credit_ledger_entries AS e (id, ref_id, tenant_id, created_at, updated_at, kind, amount,
				balance_after, seq, idempotency_key, description, actor, metadata, topup_order_id, llm_call_id, activity_id)
			SELECT u.id, u.k, u.t, now(), now(), u.kind, u.amount, u.after, u.seq, u.k, u.descr, u.actor, u.meta, u.ord,
				coalesce(u.cid, u.call), u.act
			FROM unnest(p_ids, p_keys, p_tenants, p_kinds, p_amounts, v_after, v_seqs, p_descriptions, p_actors, p_metadata,
				p_topup_orders, p_llm_calls, p_activities, p_call_ids, v_st)
				AS u(id, k, t, kind, amount, after, seq, descr, actor, meta, ord, call, act, cid, st)
			WHERE u.st = 'inserted'
			ON CONFLICT (tenant_id, ref_id) DO NOTHING;
			GET DIAGNOSTICS v_count = ROW_COUNT;
			IF v_count <> v_want THEN
				-- A key written without taking the balance lock (ingestion).
				RAISE EXCEPTION 'a key was written meanwhile' USING ERRCODE = 'LP001';
			END IF;
			-- One statement per tenant, with scalar variables: in a
			-- delegated call Citus 13.2's worker crashes (signal 11) on an
			-- UPDATE whose tenant filter or SET subscripts an array
			-- (tenant_id = v_tenants[j], or balance =
			-- v_bal[array_position(v_tenants, tenant_id)]).
			FOR j IN 1..array_length(v_tenants, 1) LOOP
				IF v_moved[j] THEN
					v_t := v_tenants[j]; v_b := v_bal[j]; v_s := v_seq[j];
					UPDATE credit_balances b SET balance = v_b, last_seq = v_s, updated_at = now()
					WHERE b.tenant_id = v_t;
				END IF;
			END LOOP;
		END IF;
	EXCEPTION WHEN numeric_value_out_of_range OR unique_violation OR check_violation OR string_data_right_truncation
		OR SQLSTATE 'LP001' THEN
		v_slow := true;
	END;
	IF NOT v_slow THEN
		RETURN QUERY SELECT (u.o - 1)::int, u.st, e.id, e.ref_id, e.tenant_id, e.created_at, e.updated_at, e.kind, e.amount,
			coalesce(e.balance_after, u.bal), e.seq, e.idempotency_key, e.description, e.actor, e.metadata,
			e.topup_order_id, e.llm_call_id, e.activity_id, NULL::text, NULL::text, NULL::text, NULL::text
		FROM unnest(p_tenants, p_keys, v_st, v_rbal) WITH ORDINALITY AS u(t, k, st, bal, o)
		LEFT JOIN (SELECT x.* FROM credit_ledger_entries x WHERE x.tenant_id = ANY(v_tenants) AND x.ref_id = ANY(p_keys)) e
			ON u.st IN ('inserted', 'existing') AND e.tenant_id = u.t AND e.ref_id = u.k
		ORDER BY u.o; -- the caller reapplies a tenant's no_balance postings in this order
		RETURN;
	END IF;
	-- One posting at a time, each rolled back alone on its data error (the
	-- first version's loop).
	FOR i IN 1..v_n LOOP
		BEGIN
			RETURN QUERY SELECT i - 1, r2.*, NULL::text, NULL::text, NULL::text, NULL::text FROM ledger_post(p_tenants[i], p_keys[i], p_ids[i], p_kinds[i], p_amounts[i],
				p_descriptions[i], p_actors[i], p_metadata[i], p_topup_orders[i], p_llm_calls[i], p_activities[i], p_system,
				p_call_ids[i], p_call_refs[i], p_providers[i], p_models[i], p_prompt_tokens[i], p_completion_tokens[i],
				p_latencies[i], p_call_statuses[i], p_errors[i], p_request_ids[i], p_call_activities[i], p_agent_configs[i]) r2;
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
