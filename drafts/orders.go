package drafts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
)

// OrderAction is what an order message does to the order it names.
type OrderAction int

const (
	// OrderNew creates the order (ORC-1 NW, SN), or re-opens a cancelled one.
	OrderNew OrderAction = iota + 1
	// OrderUpdate changes its fields (XO, XR, SC); the order is found by
	// accession, then placer/filler order number, then Study UID; an
	// unknown order is created.
	OrderUpdate
	// OrderCancel marks it cancelled (CA, OC, DC, CR) and cancels a pending draft.
	OrderCancel
)

func (a OrderAction) String() string {
	switch a {
	case OrderNew:
		return "new"
	case OrderUpdate:
		return "update"
	case OrderCancel:
		return "cancel"
	}
	return fmt.Sprintf("OrderAction(%d)", int(a))
}

// Indication sources. A draft records which one it used.
const (
	IndicationFromOBR31 = "hl7:OBR-31" // Reason for Study
	IndicationFromOBR13 = "hl7:OBR-13" // Relevant Clinical Information
	// IndicationNone is the source of an empty indication.
	IndicationNone = ""
)

// Order is one radiology order as a transport extracted it. Every string is
// already decoded (escapes undone, UTF-8). It carries PHI: never log it.
type Order struct {
	Action       OrderAction
	OrderControl string // ORC-1 as received
	OrderStatus  string // ORC-5

	AccessionNumber   string
	AccessionSource   string // e.g. IPC-1, OBR-18, OBR-3
	StudyUID          string
	StudyUIDSource    string // IPC-3 or ZDS-1
	PlacerOrderNumber string
	FillerOrderNumber string

	PatientID          string
	PatientIDAuthority string
	PatientName        string // DICOM PN style: Family^Given^Middle^Prefix^Suffix
	PatientBirthDate   string // YYYYMMDD
	PatientSex         string

	ProcedureCode    string
	ProcedureText    string
	Modality         string
	Indication       string
	IndicationSource string // IndicationFromOBR31, IndicationFromOBR13 or IndicationNone
	OrderingProvider string
}

// OrderMessage is one received message with the orders it carries; it is
// stored and applied in one transaction.
type OrderMessage struct {
	ControlID       string // MSH-10
	MessageType     string // MSH-9, e.g. ORM^O01
	SendingApp      string // MSH-3
	SendingFacility string // MSH-4
	VersionID       string // MSH-12
	RemoteAddr      string
	Raw             []byte
	Orders          []Order
}

// OrderOutcome says, without PHI, what one order of a message did.
type OrderOutcome struct {
	OrderID       int64
	Version       int
	Created       bool
	Action        OrderAction
	Studies       []string // study UIDs matched (UIDs are not PHI)
	JobsRetried   int      // pending draft_study jobs made to run now
	JobsInserted  int      // re-drafts queued for unsigned AI drafts
	JobsCancelled int      // draft_study jobs cancelled by a CA
}

// OrderResult is what SaveOrderMessage did.
type OrderResult struct {
	MessageID int64
	// Duplicate is true when the same message (sender, control ID and bytes)
	// was stored before: nothing was applied again.
	Duplicate bool
	Orders    []OrderOutcome
}

// ErrNoOrderKey is returned for an order with neither an accession number nor
// a Study Instance UID: it could never be matched to a study.
var ErrNoOrderKey = errors.New("drafts: order has neither accession number nor Study Instance UID")

// SaveOrderMessage stores msg and applies its orders in one transaction; when
// it returns nil the message is durable and may be acknowledged. For each
// order, also inside that transaction:
//   - new/update: a pending (scheduled or retryable) draft_study job of a
//     matching study is made to run now, and a study whose report is still an
//     unsigned draft made with a different indication gets a new draft_study
//     job (reason "order_arrived");
//   - cancel: the order is marked cancelled, pending draft_study jobs of its
//     studies are cancelled and the studies' state_reason says so.
//
// Studies match by accession number, then by Study Instance UID.
func (s *Store) SaveOrderMessage(ctx context.Context, msg OrderMessage) (OrderResult, error) {
	if err := checkOrders(msg.Orders); err != nil {
		return OrderResult{}, err
	}
	sum := sha256.Sum256(msg.Raw)
	digest := hex.EncodeToString(sum[:])
	var res OrderResult
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		res = OrderResult{}
		// The locks and the message row in one round trip.
		b := &pgx.Batch{}
		b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, lockIDs(orderLockKeys(msg)))
		b.Queue(`INSERT INTO hl7_messages
			(message_control_id, message_type, sending_app, sending_facility, version_id, raw_message, sha256, remote_addr)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
			ON CONFLICT (sending_app, sending_facility, message_control_id, sha256) DO NOTHING
			RETURNING id`,
			msg.ControlID, msg.MessageType, msg.SendingApp, msg.SendingFacility, msg.VersionID, msg.Raw, digest, msg.RemoteAddr)
		// The usual message carries one order: look it up in the same
		// round trip (after the locks).
		var prefound *int64
		if len(msg.Orders) == 1 && msg.Orders[0].AccessionNumber != "" {
			b.Queue(findByAccessionSQL, msg.Orders[0].AccessionNumber)
			prefound = new(int64)
		}
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("lock order: %w", err)
		}
		err := br.QueryRow().Scan(&res.MessageID)
		if prefound != nil && (err == nil || errors.Is(err, pgx.ErrNoRows)) {
			if ferr := br.QueryRow().Scan(prefound); ferr != nil && !errors.Is(ferr, pgx.ErrNoRows) {
				err = ferr
			}
		}
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if errors.Is(err, pgx.ErrNoRows) {
			res.Duplicate = true
			return tx.QueryRow(ctx, `SELECT id FROM hl7_messages
				WHERE sending_app=$1 AND sending_facility=$2 AND message_control_id=$3 AND sha256=$4`,
				msg.SendingApp, msg.SendingFacility, msg.ControlID, digest).Scan(&res.MessageID)
		}
		if err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		for i, o := range msg.Orders {
			var pf *int64
			if i == 0 {
				pf = prefound
			}
			out, err := s.applyOrder(ctx, tx, res.MessageID, &msg, o, pf)
			if err != nil {
				return err
			}
			res.Orders = append(res.Orders, out)
		}
		return nil
	})
	if err != nil {
		return OrderResult{}, fmt.Errorf("drafts: save order message: %w", err)
	}
	return res, nil
}

// checkOrders refuses an order that could never be matched to a study or
// whose action is not one SaveOrderMessage applies.
func checkOrders(orders []Order) error {
	for _, o := range orders {
		if o.AccessionNumber == "" && o.StudyUID == "" {
			return ErrNoOrderKey
		}
		if o.Action < OrderNew || o.Action > OrderCancel {
			return fmt.Errorf("drafts: order action %v", o.Action)
		}
	}
	return nil
}

// orderLockKeys names what msg touches (the message itself, and each
// order's accession number, Study Instance UID and placer order number):
// holding their locks serialises messages that touch the same order (and
// the same re-sent message) so that concurrent connections cannot race.
func orderLockKeys(msg OrderMessage) []string {
	keys := []string{"msg:" + msg.SendingApp + "|" + msg.SendingFacility + "|" + msg.ControlID}
	for _, o := range msg.Orders {
		if o.AccessionNumber != "" {
			keys = append(keys, "acc:"+o.AccessionNumber)
		}
		if o.StudyUID != "" {
			keys = append(keys, "uid:"+o.StudyUID)
		}
		if o.PlacerOrderNumber != "" {
			keys = append(keys, "placer:"+o.PlacerOrderNumber)
		}
	}
	return keys
}

// lockIDs maps keys to advisory lock IDs, sorted: a fixed order avoids
// deadlocks between transactions taking several.
func lockIDs(keys []string) []int64 {
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		h.Write([]byte(k))
		ids = append(ids, int64(h.Sum64()))
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// findByAccessionSQL finds the order of an accession. The literal "<> ”"
// lets Postgres use the partial index with generic (prepared) plans.
const findByAccessionSQL = `SELECT id FROM orders WHERE accession_number = $1 AND accession_number <> '' FOR UPDATE`

// findByOrderNumberSQL finds an order by its placer order number (ORC-2),
// else its filler order number (ORC-3), newest first.
const findByOrderNumberSQL = `SELECT id FROM orders WHERE id = (SELECT id FROM (
		(SELECT id, 0 AS pri, updated_at FROM orders WHERE placer_order_number = $1 AND placer_order_number <> '')
		UNION ALL
		(SELECT id, 1, updated_at FROM orders WHERE filler_order_number = $2 AND filler_order_number <> '')
	) m ORDER BY pri, updated_at DESC LIMIT 1) FOR UPDATE`

// applyOrder applies one order of a stored message. prefound, when not nil,
// is the result of findByAccessionSQL for it, run after the locks were taken
// (0: no such order).
func (s *Store) applyOrder(ctx context.Context, tx pgx.Tx, messageID int64, msg *OrderMessage, o Order, prefound *int64) (OrderOutcome, error) {
	out := OrderOutcome{Action: o.Action}
	var err error
	if out.OrderID, err = findOrder(ctx, tx, o, prefound); err != nil {
		return out, err
	}
	snap, err := json.Marshal(o)
	if err != nil {
		return out, err
	}
	// One round trip: the order row, its history row, the audit row and
	// the studies it now matches. The later statements name the order by
	// $1, or for a new one by currval of its sequence (same session).
	b := &pgx.Batch{}
	var orderID any // nil: the row being inserted
	if out.OrderID == 0 {
		out.Created = true
		queueOrderInsert(b, messageID, msg, o)
	} else {
		orderID = out.OrderID
		queueOrderUpdate(b, out.OrderID, messageID, msg, o)
	}
	queueOrderFollowUps(b, orderID, messageID, msg, o, snap)
	indication, indicationSource, err := sendOrderBatch(ctx, tx, b, &out)
	if err != nil {
		return out, fmt.Errorf("store order: %w", err)
	}
	return out, s.wakeOrderStudies(ctx, tx, o, indication, indicationSource, &out)
}

// findOrder returns the id of the order o is about (0: none), locked.
func findOrder(ctx context.Context, tx pgx.Tx, o Order, prefound *int64) (int64, error) {
	var id int64
	var err error
	// The order this message is about: by accession, else by Study UID
	// (an order known only by its UID).
	if prefound != nil {
		id = *prefound
	} else if o.AccessionNumber != "" {
		err = tx.QueryRow(ctx, findByAccessionSQL, o.AccessionNumber).Scan(&id)
	}
	if id == 0 && o.Action != OrderNew && (o.PlacerOrderNumber != "" || o.FillerOrderNumber != "") &&
		(err == nil || errors.Is(err, pgx.ErrNoRows)) {
		// A correction (XO) or cancel names its order by the order
		// numbers even when it corrects the accession.
		err = tx.QueryRow(ctx, findByOrderNumberSQL, o.PlacerOrderNumber, o.FillerOrderNumber).Scan(&id)
	}
	if id == 0 && o.StudyUID != "" && (err == nil || errors.Is(err, pgx.ErrNoRows)) {
		err = tx.QueryRow(ctx, `SELECT id FROM orders WHERE study_uid = $2 AND study_uid <> ''
			AND ($1 = '' OR accession_number = '') ORDER BY updated_at DESC LIMIT 1 FOR UPDATE`,
			o.AccessionNumber, o.StudyUID).Scan(&id)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("find order: %w", err)
	}
	return id, nil
}

// queueOrderInsert queues the row of a new order.
func queueOrderInsert(b *pgx.Batch, messageID int64, msg *OrderMessage, o Order) {
	cancelled := o.Action == OrderCancel
	b.Queue(`INSERT INTO orders (
		accession_number, accession_source, study_uid, study_uid_source, placer_order_number, filler_order_number,
		order_control, order_status, cancelled, patient_id, patient_id_authority, patient_name, patient_birth_date,
		patient_sex, procedure_code, procedure_text, modality, indication, indication_source, ordering_provider,
		message_control_id, sending_app, sending_facility, last_message_id, raw_message)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
		RETURNING id, version, accession_number, study_uid, indication, indication_source`,
		o.AccessionNumber, o.AccessionSource, o.StudyUID, o.StudyUIDSource, o.PlacerOrderNumber, o.FillerOrderNumber,
		o.OrderControl, o.OrderStatus, cancelled, o.PatientID, o.PatientIDAuthority, o.PatientName, o.PatientBirthDate,
		o.PatientSex, o.ProcedureCode, o.ProcedureText, o.Modality, o.Indication, o.IndicationSource, o.OrderingProvider,
		msg.ControlID, msg.SendingApp, msg.SendingFacility, messageID, msg.Raw)
}

// queueOrderUpdate queues the update of order id by o.
func queueOrderUpdate(b *pgx.Batch, id int64, messageID int64, msg *OrderMessage, o Order) {
	cancelled := o.Action == OrderCancel
	// An update or cancel may leave fields empty that the order had:
	// keep what was known (a CA often carries only the identifiers).
	b.Queue(`UPDATE orders SET
		accession_number = COALESCE(NULLIF($2,''), accession_number),
		accession_source = CASE WHEN $2 <> '' THEN $3 ELSE accession_source END,
		study_uid = COALESCE(NULLIF($4,''), study_uid),
		study_uid_source = CASE WHEN $4 <> '' THEN $5 ELSE study_uid_source END,
		placer_order_number = COALESCE(NULLIF($6,''), placer_order_number),
		filler_order_number = COALESCE(NULLIF($7,''), filler_order_number),
		order_control = $8,
		order_status = COALESCE(NULLIF($9,''), order_status),
		cancelled = $10,
		patient_id = COALESCE(NULLIF($11,''), patient_id),
		patient_id_authority = COALESCE(NULLIF($12,''), patient_id_authority),
		patient_name = COALESCE(NULLIF($13,''), patient_name),
		patient_birth_date = COALESCE(NULLIF($14,''), patient_birth_date),
		patient_sex = COALESCE(NULLIF($15,''), patient_sex),
		procedure_code = COALESCE(NULLIF($16,''), procedure_code),
		procedure_text = COALESCE(NULLIF($17,''), procedure_text),
		modality = COALESCE(NULLIF($18,''), modality),
		indication = CASE WHEN $19 <> '' OR $21 THEN $19 ELSE indication END,
		indication_source = CASE WHEN $19 <> '' OR $21 THEN $20 ELSE indication_source END,
		ordering_provider = COALESCE(NULLIF($22,''), ordering_provider),
		message_control_id = $23, sending_app = $24, sending_facility = $25,
		last_message_id = $26, raw_message = $27,
		version = version + 1, updated_at = now()
		WHERE id = $1 RETURNING id, version, accession_number, study_uid, indication, indication_source`,
		id, o.AccessionNumber, o.AccessionSource, o.StudyUID, o.StudyUIDSource,
		o.PlacerOrderNumber, o.FillerOrderNumber, o.OrderControl, o.OrderStatus, cancelled,
		o.PatientID, o.PatientIDAuthority, o.PatientName, o.PatientBirthDate, o.PatientSex,
		o.ProcedureCode, o.ProcedureText, o.Modality, o.Indication, o.IndicationSource,
		// An explicit new order replaces the indication even when empty.
		o.Action == OrderNew,
		o.OrderingProvider, msg.ControlID, msg.SendingApp, msg.SendingFacility, messageID, msg.Raw)
}

// queueOrderFollowUps queues, after the order's row, its history row, its
// audit row and the query of the studies it matches (orderID nil: the
// order being inserted).
func queueOrderFollowUps(b *pgx.Batch, orderID any, messageID int64, msg *OrderMessage, o Order, snap []byte) {
	// A sub-select, evaluated once, so that the primary key index is used
	// (currval is volatile: compared directly it forces a sequential scan).
	const thisOrder = `o.id = (SELECT COALESCE($1::bigint, currval('orders_id_seq')))`
	b.Queue(`INSERT INTO order_events (order_id, version, message_id, order_control, snapshot)
		SELECT o.id, o.version, $2, $3, $4 FROM orders o WHERE `+thisOrder, orderID, messageID, o.OrderControl, snap)
	b.Queue(`INSERT INTO audit_log (actor, action, study_uid, object_ref, remote_addr, detail)
		SELECT $2, $3, (SELECT s.study_uid FROM studies s
			WHERE (s.accession_number = o.accession_number AND s.accession_number <> '')
			   OR (s.study_uid = o.study_uid AND s.study_uid <> '') ORDER BY 1 LIMIT 1),
			'order:' || o.id, $4, jsonb_build_object('order_control', $5::text, 'message_control_id', $6::text,
				'version', o.version, 'indication_source', o.indication_source)
		FROM orders o WHERE `+thisOrder,
		orderID, "hl7:"+msg.SendingApp, "order."+o.Action.String(), msg.RemoteAddr, o.OrderControl, msg.ControlID)
	b.Queue(`SELECT s.study_uid FROM orders o JOIN studies s
		ON (s.accession_number = o.accession_number AND s.accession_number <> '')
		OR (s.study_uid = o.study_uid AND s.study_uid <> '')
		WHERE `+thisOrder+` ORDER BY 1`, orderID)
}

// sendOrderBatch runs b and reads its results into out; it returns the
// order's indication and its source.
func sendOrderBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, out *OrderOutcome) (indication, indicationSource string, err error) {
	var acc, uid string
	br := tx.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&out.OrderID, &out.Version, &acc, &uid, &indication, &indicationSource)
	if err == nil {
		if _, err = br.Exec(); err != nil {
			err = fmt.Errorf("order history: %w", err)
		}
	}
	if err == nil {
		if _, err = br.Exec(); err != nil {
			err = fmt.Errorf("audit: %w", err)
		}
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			out.Studies, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return indication, indicationSource, err
}

// wakeOrderStudies acts on the studies the order matches: a cancel
// withdraws their draft jobs, any other order wakes them with its
// indication.
func (s *Store) wakeOrderStudies(ctx context.Context, tx pgx.Tx, o Order, indication, indicationSource string, out *OrderOutcome) error {
	cancelled := o.Action == OrderCancel
	for _, study := range out.Studies {
		if cancelled {
			n, err := s.cancelDraftJobs(ctx, tx, study)
			if err != nil {
				return err
			}
			out.JobsCancelled += n
			if _, err := tx.Exec(ctx, `UPDATE studies SET state_reason = 'order cancelled by the RIS (ORC-1 '||$2||')',
				updated_at = now() WHERE study_uid = $1`, study, o.OrderControl); err != nil {
				return fmt.Errorf("study state reason: %w", err)
			}
			continue
		}
		retried, inserted, err := s.wakeDraftJobs(ctx, tx, study, indication, indicationSource)
		if err != nil {
			return err
		}
		out.JobsRetried += retried
		out.JobsInserted += inserted
	}

	return nil
}

func draftJobIDs(ctx context.Context, tx pgx.Tx, study string, states []string) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM river_job
		WHERE kind = 'draft_study' AND args->>'study_uid' = $1 AND state::text = ANY($2) ORDER BY id`, study, states)
	if err != nil {
		return nil, fmt.Errorf("find draft jobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("find draft jobs: %w", err)
	}
	return ids, nil
}

// wakeDraftJobs makes a draft_study job waiting for the order run now, and
// queues a re-draft when the study's unsigned AI draft was made with another
// indication than the order now gives.
func (s *Store) wakeDraftJobs(ctx context.Context, tx pgx.Tx, study, indication, source string) (retried, inserted int, err error) {
	ids, err := draftJobIDs(ctx, tx, study, []string{"scheduled", "retryable"})
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		if _, err := s.River.JobRetryTx(ctx, tx, id); err != nil {
			return retried, 0, fmt.Errorf("retry draft job: %w", err)
		}
		retried++
	}
	// An unsigned AI draft nobody has edited yet (status 'draft', its
	// current version the AI one): a re-draft may replace it (SaveAIDraft
	// refuses to bury a radiologist's edits). Compare with the indication
	// that draft used.
	var aiIndication, aiSource string
	err = tx.QueryRow(ctx, `SELECT v.indication, v.indication_source
		FROM reports r JOIN report_versions v ON v.report_id = r.id AND v.version = r.ai_version
		WHERE r.study_uid = $1 AND r.status = 'draft' AND r.current_version = r.ai_version
		  AND v.kind = 'ai_draft'`, study).Scan(&aiIndication, &aiSource)
	if errors.Is(err, pgx.ErrNoRows) {
		return retried, 0, nil
	}
	if err != nil {
		return retried, 0, fmt.Errorf("find unsigned draft: %w", err)
	}
	// An order without an indication teaches the draft nothing new (it
	// would fall back to the DICOM indication the draft already had).
	if indication == "" || (aiIndication == indication && aiSource == source) {
		return retried, 0, nil
	}
	// The study's current draft generation: a job already waiting for this
	// generation makes this one a duplicate.
	var gen int64
	if err := tx.QueryRow(ctx, `SELECT draft_generation FROM studies WHERE study_uid = $1`, study).Scan(&gen); err != nil {
		return retried, 0, fmt.Errorf("draft generation: %w", err)
	}
	r, err := s.River.InsertTx(ctx, tx, DraftStudyArgs{StudyUID: study, Reason: "order_arrived", Generation: gen}, nil)
	if err != nil {
		return retried, 0, fmt.Errorf("queue re-draft: %w", err)
	}
	if r.UniqueSkippedAsDuplicate && r.Job != nil && r.Job.State == rivertype.JobStateRunning {
		// The duplicate is already running (it may have read the old
		// indication and be finishing): a new generation supersedes it, so
		// this order's re-draft gets a job of its own instead of being lost.
		if err := tx.QueryRow(ctx, `UPDATE studies SET draft_generation = draft_generation + 1 WHERE study_uid = $1
			RETURNING draft_generation`, study).Scan(&gen); err != nil {
			return retried, 0, fmt.Errorf("draft generation: %w", err)
		}
		if r, err = s.River.InsertTx(ctx, tx, DraftStudyArgs{StudyUID: study, Reason: "order_arrived", Generation: gen}, nil); err != nil {
			return retried, 0, fmt.Errorf("queue re-draft: %w", err)
		}
	}
	if !r.UniqueSkippedAsDuplicate {
		inserted++
	}
	return retried, inserted, nil
}

// cancelDraftJobs cancels every draft_study job of study that has not finished.
func (s *Store) cancelDraftJobs(ctx context.Context, tx pgx.Tx, study string) (int, error) {
	ids, err := draftJobIDs(ctx, tx, study, []string{"available", "pending", "scheduled", "retryable", "running"})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := s.River.JobCancelTx(ctx, tx, id); err != nil {
			return 0, fmt.Errorf("cancel draft job: %w", err)
		}
	}
	return len(ids), nil
}

// StoredOrder is an order as kept in the database.
type StoredOrder struct {
	ID               int64
	AccessionNumber  string
	StudyUID         string
	OrderControl     string
	Cancelled        bool
	Indication       string
	IndicationSource string
	ProcedureText    string
	Version          int
}

// OrderForStudy returns the order of a study (matched by its accession
// number, then by its Study Instance UID), cancelled ones included; nil when
// none has arrived. The draft worker uses it to decide whether to wait.
func (s *Store) OrderForStudy(ctx context.Context, studyUID string) (*StoredOrder, error) {
	var o StoredOrder
	// Two index lookups (by the study's accession, by its UID) rather
	// than one OR across the join, which would scan every order.
	err := s.db.QueryRow(ctx, `
		SELECT id, accession_number, study_uid, order_control, cancelled, indication,
		       indication_source, procedure_text, version
		FROM (
			SELECT o.*, 0 AS pri FROM orders o JOIN studies st ON st.study_uid = $1
			WHERE o.accession_number = st.accession_number AND o.accession_number <> ''
			UNION ALL
			SELECT o.*, 1 AS pri FROM orders o WHERE o.study_uid = $1 AND o.study_uid <> ''
		) m
		ORDER BY pri, cancelled, updated_at DESC
		LIMIT 1`, studyUID).Scan(&o.ID, &o.AccessionNumber, &o.StudyUID, &o.OrderControl, &o.Cancelled,
		&o.Indication, &o.IndicationSource, &o.ProcedureText, &o.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drafts: order for study: %w", err)
	}
	return &o, nil
}

// StudyIndication is the indication a draft of a study should use.
type StudyIndication struct {
	Text string
	// Source: IndicationFromOBR31, IndicationFromOBR13, "dicom:" + the tag
	// the DICOM indication came from, e.g. "dicom:(0040,1002)", or
	// IndicationNone.
	Source string
	// OrderID is the matching non-cancelled order (0 when none).
	OrderID int64
	// OrderCancelled is true when the only matching order was cancelled.
	OrderCancelled bool
}

// IndicationForStudy picks the indication for drafting a study: that of the
// matching non-cancelled order (by accession, then Study Instance UID), else
// the one found in its DICOM headers, else none. A matching order without an
// indication falls back to the DICOM one too.
func (s *Store) IndicationForStudy(ctx context.Context, studyUID string) (StudyIndication, error) {
	var dicomText, dicomSource string
	err := s.db.QueryRow(ctx, `SELECT dicom_indication, dicom_indication_source FROM studies WHERE study_uid=$1`,
		studyUID).Scan(&dicomText, &dicomSource)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return StudyIndication{}, fmt.Errorf("drafts: indication for study: %w", err)
	}
	var res StudyIndication
	o, err := s.OrderForStudy(ctx, studyUID)
	if err != nil {
		return res, err
	}
	if o != nil {
		if o.Cancelled {
			res.OrderCancelled = true
		} else {
			res.OrderID = o.ID
			if strings.TrimSpace(o.Indication) != "" {
				res.Text, res.Source = o.Indication, o.IndicationSource
				return res, nil
			}
		}
	}
	if strings.TrimSpace(dicomText) != "" {
		res.Text = dicomText
		res.Source = dicomIndicationSource(dicomSource)
	}
	return res, nil
}

// dicomTagOf maps the attribute keywords DICOM ingest records as the
// indication's source to their tags.
var dicomTagOf = map[string]string{
	"ReasonForTheRequestedProcedure": "(0040,1002)",
	"RequestedProcedureDescription":  "(0032,1060)",
	"AdmittingDiagnosesDescription":  "(0008,1080)",
	"ReasonForStudy":                 "(0032,1030)",
}

// dicomIndicationSource names a DICOM indication source as "dicom:(gggg,eeee)".
func dicomIndicationSource(src string) string {
	src = strings.TrimPrefix(src, "dicom:")
	if t, ok := dicomTagOf[src]; ok {
		src = t
	}
	return "dicom:" + src
}
