import type Database from 'better-sqlite3';

/**
 * One function per schema version, in order. Version N is `migrations[N - 1]`.
 * Never edit a migration that has shipped: add the next one.
 */
export const migrations: ReadonlyArray<(db: Database.Database) => void> = [
  // 1: identity, factors, sessions, staff, audit
  (db) => {
    db.exec(`
      CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        attributes TEXT NOT NULL DEFAULT '{}',   -- JSON: tier, segment
        account TEXT NOT NULL DEFAULT '{}',      -- JSON: account numbers, balances, orders (secure fields)
        knowledge_failures INTEGER NOT NULL DEFAULT 0,
        knowledge_locked_until INTEGER,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      ) STRICT;
      CREATE INDEX enrolment_codes_customer ON enrolment_codes(customer_id);

      CREATE TABLE devices (
        id TEXT PRIMARY KEY,                     -- RFC 7638 thumbprint
        customer_id TEXT NOT NULL REFERENCES customers(id),
        public_jwk TEXT NOT NULL,
        label TEXT,
        enrolled_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX devices_customer ON devices(customer_id);

      CREATE TABLE challenges (
        id TEXT PRIMARY KEY,
        purpose TEXT NOT NULL,                   -- enrol | authenticate | webauthn-register | webauthn-assert
        nonce TEXT NOT NULL,
        device_id TEXT,
        authentication_id TEXT,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      ) STRICT;
      CREATE INDEX challenges_expiry ON challenges(expires_at);

      CREATE TABLE used_proofs (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX used_proofs_expiry ON used_proofs(expires_at);

      CREATE TABLE pins (
        customer_id TEXT PRIMARY KEY REFERENCES customers(id),
        hash TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,                    -- NULL: not locked; a huge value: locked until an admin unlocks
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE webauthn_credentials (
        id TEXT PRIMARY KEY,                     -- base64url credential id
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT NOT NULL REFERENCES devices(id),
        public_key BLOB NOT NULL,
        counter INTEGER NOT NULL,
        transports TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        counter_anomaly_at INTEGER
      ) STRICT;
      CREATE INDEX webauthn_credentials_device ON webauthn_credentials(device_id);

      CREATE TABLE photos (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT REFERENCES devices(id),
        authentication_id TEXT,
        purpose TEXT NOT NULL,                   -- enrolment | verification
        media_type TEXT NOT NULL,
        bytes BLOB NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX photos_customer ON photos(customer_id, purpose, created_at);

      CREATE TABLE knowledge_questions (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        prompt TEXT NOT NULL,
        answer_hash TEXT NOT NULL
      ) STRICT;
      CREATE INDEX knowledge_questions_customer ON knowledge_questions(customer_id);

      CREATE TABLE authentications (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT REFERENCES devices(id),
        level INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX authentications_customer ON authentications(customer_id, created_at);

      CREATE TABLE factors (
        authentication_id TEXT NOT NULL REFERENCES authentications(id),
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        device_id TEXT,
        detail TEXT,
        PRIMARY KEY (authentication_id, kind, at)
      ) STRICT;

      CREATE TABLE device_tokens (
        token_hash TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        authentication_id TEXT NOT NULL REFERENCES authentications(id),
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;

      CREATE TABLE service_sessions (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT REFERENCES devices(id),
        authentication_id TEXT NOT NULL REFERENCES authentications(id),
        created_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT
      ) STRICT;
      CREATE INDEX service_sessions_open ON service_sessions(ended_at, absolute_expires_at);

      CREATE TABLE staff (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('agent','supervisor','admin')),
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER
      ) STRICT;

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        expires_at INTEGER NOT NULL,
        rotated_at INTEGER,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        private_jwk TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `);
  },
  // 2: pipeline: configuration, agents, shifts, requests under leases, handling times
  (db) => {
    db.exec(`
      CREATE TABLE pipeline_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        json TEXT NOT NULL,
        source TEXT NOT NULL,                    -- file path or "admin"
        file_hash TEXT,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE agents (
        staff_id TEXT PRIMARY KEY REFERENCES staff(id),
        presence TEXT NOT NULL DEFAULT 'offline'
          CHECK (presence IN ('offline','available','busy','wrap_up','break','missed')),
        since INTEGER NOT NULL,
        reason_code TEXT,
        wrap_up_until INTEGER,
        idle_since INTEGER,                      -- longest idle first: the smallest value gets the next offer
        last_seen_at INTEGER,
        skills TEXT NOT NULL DEFAULT '[]',       -- JSON [{skill, level}]
        queues TEXT NOT NULL DEFAULT '[]'        -- JSON [queueId]
      ) STRICT;
      CREATE INDEX agents_presence ON agents(presence, idle_since);

      CREATE TABLE shifts (
        staff_id TEXT NOT NULL REFERENCES staff(id),
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        PRIMARY KEY (staff_id, starts_at)
      ) STRICT;
      CREATE INDEX shifts_time ON shifts(starts_at, ends_at);

      CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL UNIQUE REFERENCES service_sessions(id),
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT,
        authentication_id TEXT NOT NULL,
        option_id TEXT NOT NULL,
        option_label TEXT NOT NULL,
        queue_id TEXT NOT NULL,
        skills TEXT NOT NULL DEFAULT '[]',
        required_level INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        enqueued_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('waiting','offered','assigned','scheduled','completed','abandoned')),
        fence INTEGER NOT NULL DEFAULT 0,        -- fencing number: +1 at every offer or ownership move
        agent_id TEXT,
        offer_expires_at INTEGER,
        assigned_at INTEGER,
        ended_at INTEGER,
        end_reason TEXT,
        callback_mode TEXT NOT NULL DEFAULT 'keep_place' CHECK (callback_mode IN ('keep_place','slot')),
        window_from INTEGER,
        window_until INTEGER,
        slot_start INTEGER,
        slot_end INTEGER,
        idempotency_key TEXT,
        UNIQUE (device_id, idempotency_key)
      ) STRICT;
      CREATE INDEX requests_queue_order ON requests(state, priority DESC, enqueued_at);
      CREATE INDEX requests_offer_expiry ON requests(state, offer_expires_at);
      CREATE INDEX requests_agent ON requests(agent_id, state);
      CREATE INDEX requests_slot ON requests(state, slot_start);

      CREATE TABLE leases (
        request_id TEXT NOT NULL REFERENCES requests(id),
        fence INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('offer','assignment')),
        agent_id TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT,
        PRIMARY KEY (request_id, fence, kind)
      ) STRICT;

      CREATE TABLE handle_times (
        queue_id TEXT NOT NULL,
        seconds INTEGER NOT NULL,
        at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX handle_times_queue ON handle_times(queue_id, at DESC);
    `);
  },
  // 3: call tickets and the device's proofs of answering them
  (db) => {
    db.exec(`
      CREATE TABLE call_tickets (
        jti TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        session_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        fence INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        proven_at INTEGER
      ) STRICT;
      CREATE INDEX call_tickets_request ON call_tickets(request_id, issued_at);
    `);
  },
  // 4: wrap-ups (deduplicated by idempotency key); audit look-ups by actor for risk flags
  (db) => {
    db.exec(`
      CREATE TABLE wrap_ups (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        request_id TEXT NOT NULL REFERENCES requests(id),
        agent_id TEXT NOT NULL,
        fence INTEGER NOT NULL,
        disposition TEXT NOT NULL,                -- JSON path of codes
        notes TEXT NOT NULL,
        received_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX wrap_ups_request ON wrap_ups(request_id);
      CREATE INDEX audit_log_actor ON audit_log(actor, at);
    `);
  },
  // 5: remote control (device commands, the customer's stop), transfers, chain of custody
  (db) => {
    db.exec(`
      CREATE TABLE device_commands (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        session_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        fence INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        command TEXT NOT NULL,                    -- JSON {kind, payload}; a revised menu holds its latest items
        revision INTEGER NOT NULL DEFAULT 1,
        jws TEXT NOT NULL,                        -- the latest signed token sent to the device
        state TEXT NOT NULL
          CHECK (state IN ('pending','shown','done','declined','failed','expired','cancelled')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        shown_at INTEGER,
        finished_at INTEGER,
        result TEXT,                              -- JSON CommandResultView
        reason TEXT,
        UNIQUE (request_id, fence, seq)           -- a seq is used once per request and fence
      ) STRICT;
      CREATE INDEX device_commands_device ON device_commands(device_id, state);
      CREATE INDEX device_commands_open ON device_commands(state, expires_at);

      CREATE TABLE remote_control (
        request_id TEXT PRIMARY KEY REFERENCES requests(id),
        stopped_at INTEGER,                       -- NULL: control allowed
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE transfers (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        kind TEXT NOT NULL CHECK (kind IN ('transfer','take_over','reassign')),
        mode TEXT NOT NULL CHECK (mode IN ('blind','warm')),
        by_staff TEXT NOT NULL,
        from_staff TEXT,
        target_kind TEXT NOT NULL CHECK (target_kind IN ('agent','supervisor','queue')),
        target_staff TEXT,
        target_queue TEXT,
        state TEXT NOT NULL
          CHECK (state IN ('offered','accepted','declined','cancelled','expired','completed')),
        note TEXT,
        from_fence INTEGER NOT NULL,
        to_fence INTEGER,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        resolved_at INTEGER
      ) STRICT;
      CREATE INDEX transfers_request ON transfers(request_id, created_at);
      CREATE INDEX transfers_target ON transfers(target_staff, state);
      CREATE INDEX transfers_open ON transfers(state, expires_at);

      CREATE TABLE custody (
        request_id TEXT NOT NULL REFERENCES requests(id),
        staff_id TEXT NOT NULL,
        role TEXT NOT NULL,
        fence INTEGER NOT NULL,
        how TEXT NOT NULL
          CHECK (how IN ('accepted','transfer_blind','transfer_warm','taken_over','reassigned')),
        from_at INTEGER NOT NULL,
        until_at INTEGER,
        end_reason TEXT,
        PRIMARY KEY (request_id, fence)
      ) STRICT;
    `);
  },
  // 6: factor set-up grant of the enrolment's authentication; security notices to the customer's other devices
  (db) => {
    db.exec(`
      ALTER TABLE authentications ADD COLUMN setup_until INTEGER;  -- only the enrolment's own authentication

      CREATE TABLE security_notices (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT NOT NULL REFERENCES devices(id),       -- the device told
        kind TEXT NOT NULL
          CHECK (kind IN ('device.enrolled','pin.set','biometric.added','photo.enrolled')),
        by_device_id TEXT NOT NULL REFERENCES devices(id),    -- the device the change was made on
        at INTEGER NOT NULL,
        acknowledged_at INTEGER
      ) STRICT;
      CREATE INDEX security_notices_device ON security_notices(device_id, acknowledged_at, at);
    `);
  },
  // 7: staff login throttling: consecutive failures per account (and per unknown name), failed logins per source
  (db) => {
    db.exec(`
      CREATE TABLE login_throttle (
        subject TEXT PRIMARY KEY,                 -- "staff:<id>", or "name:<sha256 of an unknown username>"
        staff_id TEXT,                            -- NULL for an unknown name (kept, bounded, so it answers like an account)
        failures INTEGER NOT NULL,                -- consecutive; reserved before the password is hashed
        locked_until INTEGER,                     -- ms; MAX_SAFE_INTEGER: until an admin unlocks
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX login_throttle_names ON login_throttle(updated_at) WHERE staff_id IS NULL;

      CREATE TABLE login_source_failures (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,                     -- IPv4 address or IPv6 /64
        at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX login_source_failures_source ON login_source_failures(source, at);
      CREATE INDEX login_source_failures_at ON login_source_failures(at);

      CREATE TABLE login_source_refusals (
        source TEXT PRIMARY KEY,
        refused INTEGER NOT NULL,                 -- 429s not yet summed up in the audit log
        audited_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
  // 8: verification photos count only once compared (by the agent holding the request) with the enrolment photo
  (db) => {
    db.exec(`
      ALTER TABLE photos ADD COLUMN verdict TEXT CHECK (verdict IN ('match','no_match'));
      ALTER TABLE photos ADD COLUMN compared_by TEXT;          -- staff id
      ALTER TABLE photos ADD COLUMN compared_at INTEGER;
      CREATE INDEX photos_authentication ON photos(authentication_id, purpose, created_at);
    `);
  },
  // 9: customers administered by the back office: external reference, phone numbers (E.164), deactivation
  (db) => {
    db.exec(`
      ALTER TABLE customers ADD COLUMN external_ref TEXT;         -- e.g. a CRM id; unique when set
      ALTER TABLE customers ADD COLUMN updated_at INTEGER;
      ALTER TABLE customers ADD COLUMN deactivated_at INTEGER;   -- NULL: active
      ALTER TABLE customers ADD COLUMN deactivation_reason TEXT;
      CREATE UNIQUE INDEX customers_external_ref ON customers(external_ref) WHERE external_ref IS NOT NULL;
      CREATE INDEX customers_name ON customers(display_name, id);

      CREATE TABLE customer_phones (
        customer_id TEXT NOT NULL REFERENCES customers(id),
        e164 TEXT NOT NULL,
        label TEXT,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),  -- 0 while the customer is deactivated
        PRIMARY KEY (customer_id, e164)
      ) STRICT;
      -- A number belongs to at most one active customer.
      CREATE UNIQUE INDEX customer_phones_active ON customer_phones(e164) WHERE active = 1;
      CREATE INDEX customer_phones_e164 ON customer_phones(e164);
    `);
  },
  // 10: receipts of transactions confirmed with a user-verifying factor bound to the transaction (PSD2 dynamic linking)
  (db) => {
    db.exec(`
      CREATE TABLE receipts (
        id TEXT PRIMARY KEY,                                 -- R-XXXXXXXXXX, shown to customer and agent
        command_id TEXT NOT NULL UNIQUE REFERENCES device_commands(id),
        request_id TEXT NOT NULL,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        device_id TEXT NOT NULL,
        payee TEXT NOT NULL,
        amount INTEGER NOT NULL,                             -- minor units
        currency TEXT NOT NULL,
        reference TEXT NOT NULL,
        account TEXT NOT NULL,                               -- the debited account, masked
        factor TEXT NOT NULL CHECK (factor IN ('biometric','pin')),
        challenge TEXT NOT NULL UNIQUE,                      -- the transaction-bound challenge: used once
        evidence TEXT NOT NULL,                              -- JSON: device signature, canonical text, assertion
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX receipts_customer ON receipts(customer_id, created_at);
    `);
  },
  // 11: device reachability (last seen) and push subscriptions to wake a device that left the app
  (db) => {
    db.exec(`
      CREATE TABLE device_push (
        device_id TEXT PRIMARY KEY REFERENCES devices(id),
        kind TEXT NOT NULL CHECK (kind IN ('webpush','fcm','apns')),
        endpoint TEXT,                                       -- webpush: the push service endpoint
        p256dh TEXT,                                         -- webpush: the subscription's public key
        auth TEXT,                                           -- webpush: the subscription's auth secret
        token TEXT,                                          -- fcm/apns: the native token
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE device_last_seen (
        device_id TEXT PRIMARY KEY REFERENCES devices(id),
        last_seen_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE push_keys (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        vapid_public TEXT NOT NULL,
        vapid_private TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
  // 12: a customer's phone numbers keep the order they were written in on both engines (PostgreSQL has no rowid)
  (db) => {
    db.exec(`
      ALTER TABLE customer_phones ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
      UPDATE customer_phones SET position = rowid;
    `);
  },
  // 13: the durable outbox: domain events written in the unit of their change, consumed in seq order
  (db) => {
    db.exec(`
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,              -- never reused, even after pruning
        topic TEXT NOT NULL,                                -- e.g. session.ended (authority/src/events/topics.ts)
        payload TEXT NOT NULL,                              -- JSON, checked against the topic's schema
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE outbox_cursors (
        consumer TEXT PRIMARY KEY,                          -- e.g. pipeline.session-ended
        seq INTEGER NOT NULL,                               -- the last event the consumer has processed
        updated_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
  // 14: call recordings (rtpengine's pcaps converted to one WAV per call, a channel per party)
  (db) => {
    db.exec(`
      CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        call_id TEXT NOT NULL UNIQUE,                        -- the SIP Call-ID (rtpengine's call)
        agent_id TEXT NOT NULL,                              -- who held the request when the call was answered
        fence INTEGER NOT NULL,                              -- under which fencing number
        state TEXT NOT NULL CHECK (state IN ('recording','paused','stored','failed')),
        channels TEXT NOT NULL,                              -- JSON: the party of each WAV channel, e.g. ["agent","customer"]
        segments TEXT NOT NULL,                              -- JSON: [{startedAt, endedAt}] spans recorded (pauses between)
        duration_ms INTEGER,                                 -- of the stored WAV
        file_path TEXT,                                      -- the WAV, once stored
        error TEXT,                                          -- why conversion failed (the pcaps are kept)
        created_at INTEGER NOT NULL,
        ended_at INTEGER,
        retain_until INTEGER                                 -- deleted (audited) after this
      ) STRICT;
      CREATE INDEX recordings_request ON recordings(request_id, created_at);
      CREATE INDEX recordings_state ON recordings(state, retain_until);
    `);
  },
  // 15: an agent holds at most one open offer (a rule of the database, whatever runs at once)
  (db) => {
    db.exec(OFFER_PER_AGENT_SQL);
  },
  // 16: webhook deliveries (signed events to the CRM, retried with backoff); indexes of the historical reports
  (db) => {
    db.exec(`
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,                              -- the idempotency id the receiver sees (evt_<outbox seq>)
        endpoint TEXT NOT NULL,                              -- the configured URL
        topic TEXT NOT NULL,
        body TEXT NOT NULL,                                  -- the JSON sent, byte for byte (what the signature covers)
        state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_status INTEGER,                                 -- the receiver's HTTP status of the last attempt
        last_error TEXT,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,                                 -- delivered, or given up
        UNIQUE (event_id, endpoint)
      ) STRICT;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
      CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);
      CREATE INDEX requests_enqueued ON requests(enqueued_at);
      CREATE INDEX device_commands_request ON device_commands(request_id, kind);
      CREATE INDEX audit_log_action ON audit_log(action, at);
    `);
  },
  // 17: single sign-on (OpenID Connect): staff linked by (issuer, subject), started flows, the ID token of each SSO login
  (db) => {
    db.exec(`
      CREATE TABLE staff_sso_links (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,                               -- the provider's sub claim
        staff_id TEXT NOT NULL REFERENCES staff(id),
        created_at INTEGER NOT NULL,
        last_sign_in_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject),
        UNIQUE (issuer, staff_id)                            -- one subject per account and provider
      ) STRICT;
      CREATE TABLE sso_flows (
        state_hash TEXT PRIMARY KEY,                         -- sha256 of the state sent to the provider
        nonce TEXT NOT NULL,
        code_verifier TEXT NOT NULL,                         -- PKCE: never leaves the authority
        redirect_uri TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER                                      -- single use
      ) STRICT;
      CREATE INDEX sso_flows_expires ON sso_flows(expires_at);
      CREATE TABLE sso_sessions (
        family_id TEXT PRIMARY KEY,                          -- the refresh token family of the login
        staff_id TEXT NOT NULL REFERENCES staff(id),
        issuer TEXT NOT NULL,
        id_token TEXT NOT NULL,                              -- the id_token_hint of RP-initiated logout
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sso_sessions_expires ON sso_sessions(expires_at);
    `);
  },
  // 18: many nodes: each node's heartbeat, and which customer devices are online at which node
  (db) => {
    db.exec(`
      CREATE TABLE authority_nodes (
        node_id TEXT PRIMARY KEY,                            -- one running process (VD_NODE_ID + a random part)
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE node_presence (
        node_id TEXT NOT NULL,
        device_id TEXT NOT NULL,                             -- no foreign key: rows live as long as a socket
        since INTEGER NOT NULL,
        PRIMARY KEY (node_id, device_id)
      ) STRICT;
      CREATE INDEX node_presence_device ON node_presence(device_id);
    `);
  },
  // 19: who set an agent's presence when it was someone else (a supervisor): the agent is told
  (db) => {
    db.exec(`ALTER TABLE agents ADD COLUMN presence_set_by TEXT;`);
  },
  // 20: verified chat: a request's channel, and its messages numbered per request (seq), one per sender's client id
  (db) => {
    db.exec(`
      ALTER TABLE requests ADD COLUMN channel TEXT NOT NULL DEFAULT 'voice' CHECK (channel IN ('voice','chat'));
      CREATE TABLE chat_messages (
        request_id TEXT NOT NULL REFERENCES requests(id),
        seq INTEGER NOT NULL,
        client_msg_id TEXT NOT NULL,
        sender TEXT NOT NULL CHECK (sender IN ('customer','agent')),
        staff_id TEXT,
        text TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (request_id, seq),
        UNIQUE (request_id, sender, client_msg_id)
      ) STRICT;
    `);
  },
  // 21: calls from the phone network (a SIP trunk): the request a call became, who called, the number dialled, the SIP server holding the call
  (db) => {
    db.exec(`
      CREATE TABLE phone_calls (
        request_id TEXT PRIMARY KEY REFERENCES requests(id),
        sip_call_id TEXT NOT NULL UNIQUE,
        caller TEXT,
        dialled TEXT NOT NULL,
        recognition TEXT NOT NULL,
        sip_server TEXT,
        created_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT
      ) STRICT;
    `);
  },
  // 22: verification links sent by text message to a caller during a phone call: single use, short-lived, stored as a hash
  (db) => {
    db.exec(`
      CREATE TABLE verification_links (
        token_hash TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        customer_id TEXT NOT NULL REFERENCES customers(id),
        sent_to TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        used_by_device TEXT
      ) STRICT;
      CREATE INDEX verification_links_request ON verification_links(request_id);
    `);
  },
  // 23: callers nobody recognised: a placeholder customer per call ("Unknown caller") until the agent identifies the caller
  (db) => {
    db.exec(`
      ALTER TABLE customers ADD COLUMN kind TEXT NOT NULL DEFAULT 'customer' CHECK (kind IN ('customer','unknown_caller'));
      ALTER TABLE phone_calls ADD COLUMN identified_by TEXT;     -- staff id of the agent who identified an unknown caller
      ALTER TABLE phone_calls ADD COLUMN identified_at INTEGER;
    `);
  },
  // 24: chat transcripts deleted (retention or an administrator): one marker per request, what remains of its messages
  (db) => {
    db.exec(`
      CREATE TABLE chat_transcript_deletions (
        request_id TEXT PRIMARY KEY REFERENCES requests(id),
        deleted_at INTEGER NOT NULL,
        by_actor TEXT NOT NULL,                              -- 'system:retention' or 'staff:<id>'
        reason TEXT NOT NULL,
        message_count INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX requests_ended_at ON requests(ended_at);
    `);
  },
  // 25: the verification level when each holding began (reports: the level at answer)
  (db) => {
    db.exec(`
      ALTER TABLE custody ADD COLUMN level INTEGER;          -- NULL for holdings from before this version
    `);
  },
  // 26: callbacks to a phone number through the trunk (a customer without the app): the number, who booked it, each call placed; the signed tickets that let an agent's call out to that number
  (db) => {
    db.exec(`
      CREATE TABLE phone_callbacks (
        request_id TEXT PRIMARY KEY REFERENCES requests(id),
        number TEXT NOT NULL,                                -- E.164, one of the customer's registered numbers
        booked_by TEXT NOT NULL,                             -- staff id
        booked_at INTEGER NOT NULL,
        placed_at INTEGER,                                   -- the last call the SIP server let out to the trunk
        placed_count INTEGER NOT NULL DEFAULT 0,
        sip_call_id TEXT                                     -- that call's SIP Call-ID
      ) STRICT;
      CREATE TABLE phone_dial_tickets (
        jti TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        agent_id TEXT NOT NULL,
        fence INTEGER NOT NULL,
        number TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,                                     -- the SIP server let a call out with it (once: that Call-ID only)
        sip_call_id TEXT
      ) STRICT;
      CREATE INDEX phone_dial_tickets_request ON phone_dial_tickets(request_id);
    `);
  },
  // 27: back-channel logout: an SSO session's subject and the provider's session id; logout tokens seen (replays)
  (db) => {
    db.exec(`
      ALTER TABLE sso_sessions ADD COLUMN subject TEXT;      -- NULL for sessions from before this version
      ALTER TABLE sso_sessions ADD COLUMN sid TEXT;          -- the ID token's sid, when the provider sends one
      CREATE INDEX sso_sessions_subject ON sso_sessions(issuer, subject);
      CREATE INDEX sso_sessions_sid ON sso_sessions(issuer, sid);
      CREATE TABLE sso_logout_tokens (
        issuer TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at INTEGER NOT NULL,                         -- kept until then, to refuse a replay
        PRIMARY KEY (issuer, jti)
      ) STRICT;
      CREATE INDEX sso_logout_tokens_expires ON sso_logout_tokens(expires_at);
    `);
  },
  // 28: chat attachments (images and PDF), stored like photos: the bytes in the row, one per message
  (db) => {
    db.exec(`
      CREATE TABLE chat_attachments (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        seq INTEGER NOT NULL,                                -- the message that carries it
        kind TEXT NOT NULL CHECK (kind IN ('image','pdf')),
        media_type TEXT NOT NULL,                            -- sniffed from the bytes (magic numbers)
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (request_id, seq),
        FOREIGN KEY (request_id, seq) REFERENCES chat_messages(request_id, seq)
      ) STRICT;
    `);
  },
  // 29: an agent's own chat capacity (null: the queue's applies), bounding every queue's
  (db) => {
    db.exec(`ALTER TABLE agents ADD COLUMN chat_capacity INTEGER CHECK (chat_capacity BETWEEN 1 AND 20);`);
  },
  // 30: when a proven call ended (null: live while its request is held under the ticket's fence)
  (db) => {
    db.exec(`ALTER TABLE call_tickets ADD COLUMN ended_at INTEGER;`);
  },
  // 31: the end of a callback's latest call out (the carrier or the agent hung up, or it was not answered)
  (db) => {
    db.exec(`
      ALTER TABLE phone_callbacks ADD COLUMN ended_at INTEGER;   -- NULL while the latest call lasts (or none yet)
      ALTER TABLE phone_callbacks ADD COLUMN end_reason TEXT
        CHECK (end_reason IN ('customer_hung_up','agent_hung_up','cancelled','not_answered'));
      ALTER TABLE phone_callbacks ADD COLUMN end_status INTEGER; -- the SIP status of a call not answered
      CREATE INDEX phone_callbacks_call ON phone_callbacks(sip_call_id);
    `);
  },
  // 32: live sessions by last activity and by absolute expiry: the database-wide expiry sweep
  // (past either deadline) and the nearest-deadline read, without reading every ended session;
  // an agent's presence to return to after a take-over, stored (any node finishes the request)
  (db) => {
    db.exec(`
      CREATE INDEX service_sessions_live_activity ON service_sessions(last_activity_at) WHERE ended_at IS NULL;
      CREATE INDEX service_sessions_live_expiry ON service_sessions(absolute_expires_at) WHERE ended_at IS NULL;
      -- the presence to return to after holding a request taken over (was one node's memory)
      ALTER TABLE agents ADD COLUMN return_presence TEXT CHECK (return_presence IN ('available','offline','break'));
      ALTER TABLE agents ADD COLUMN return_reason_code TEXT;
    `);
  },
  // 33: an agent's own chat quick replies (a JSON array of strings, in order); handling times per channel
  (db) => {
    db.exec(`
      CREATE TABLE quick_replies (
        staff_id TEXT PRIMARY KEY REFERENCES staff(id),
        replies TEXT NOT NULL,                               -- JSON array of the texts, in order
        updated_at INTEGER NOT NULL
      ) STRICT;
      -- the channel of the request handled (rows from before: 'voice')
      ALTER TABLE handle_times ADD COLUMN channel TEXT NOT NULL DEFAULT 'voice' CHECK (channel IN ('voice','chat'));
      CREATE INDEX handle_times_queue_channel ON handle_times(queue_id, channel, at DESC);
    `);
  },
  // 34: a request queued below its option's level for the agent to verify the customer on the
  // call (the security questions): 1 when the customer asked for it, 0 otherwise
  (db) => {
    db.exec(`
      ALTER TABLE requests ADD COLUMN verify_on_call INTEGER NOT NULL DEFAULT 0 CHECK (verify_on_call IN (0,1));
    `);
  },
  // 35: the site's team quick replies, shared by every agent (one list per site: the product has
  // one site; keyed so that a list per team can come later)
  (db) => {
    db.exec(`
      CREATE TABLE site_quick_replies (
        site TEXT PRIMARY KEY CHECK (site = 'site'),          -- the one site
        replies TEXT NOT NULL,                               -- JSON array of the texts, in order
        updated_by TEXT NOT NULL REFERENCES staff(id),       -- the supervisor or admin who saved it
        updated_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
  // 36: a consumer of the outbox reads the events of its topics after its cursor through this
  // index (without it, every read scanned the events of every other topic since the cursor)
  (db) => {
    db.exec(`CREATE INDEX outbox_topic_seq ON outbox(topic, seq);`);
  },
  // 37: PostgreSQL appends an audit row in one round trip (a function, schema-migrations.ts);
  // SQLite's single writer reads the head and inserts without a lock or a round trip: nothing here
  () => {},
  // 38: PostgreSQL writes a unit's audit rows and outbox events at its COMMIT (a staging table
  // and its deferred trigger, schema-migrations.ts); SQLite writes them as they come: nothing here
  () => {},
];

/**
 * Version 15 on both engines (portable SQL). Two dispatches racing on PostgreSQL could
 * leave an agent with two offers before this version: every offer of an agent but its
 * newest goes back to waiting (its lease ended as 'withdrawn', under the next fence), then
 * the index holds the rule.
 */
export const OFFER_PER_AGENT_SQL = `
  CREATE TEMPORARY TABLE surplus_offers AS
    SELECT r.id, r.fence FROM requests r
    WHERE r.state = 'offered' AND EXISTS (
      SELECT 1 FROM requests n
      WHERE n.state = 'offered' AND n.agent_id = r.agent_id
        AND (n.offer_expires_at > r.offer_expires_at OR (n.offer_expires_at = r.offer_expires_at AND n.id > r.id)));
  UPDATE leases SET ended_at = started_at, end_reason = 'withdrawn'
    WHERE kind = 'offer' AND ended_at IS NULL
      AND EXISTS (SELECT 1 FROM surplus_offers s WHERE s.id = leases.request_id AND s.fence = leases.fence);
  UPDATE requests SET state = 'waiting', fence = fence + 1, agent_id = NULL, offer_expires_at = NULL
    WHERE id IN (SELECT id FROM surplus_offers);
  DROP TABLE surplus_offers;
  CREATE UNIQUE INDEX requests_one_offer_per_agent ON requests(agent_id) WHERE state = 'offered';
`;
