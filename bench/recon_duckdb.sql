-- The engine's classification in DuckDB SQL, for the benchmark's baseline (bench/recon_bench.py fills {…}).
CREATE TABLE hub AS
SELECT (row_number() OVER ()) + 1 AS line, MaGiaoDich AS transaction_id, MaThamChieu AS reference,
       MaDonVi AS agency, CASE TrangThai WHEN '1' THEN 'payment' ELSE 'refund' END AS kind,
       CAST(SoTien AS BIGINT) AS amount, CAST(PhiGiaoDich AS BIGINT) AS fee, CAST(SoTienQuyetToan AS BIGINT) AS net,
       ThoiGianThanhToan AS hub_time, MaHoSo AS dossier
FROM read_csv('{file}', header = true, all_varchar = true);

CREATE TABLE ours AS
SELECT * FROM read_csv('{ours}', header = true, columns = {
    'id': 'VARCHAR', 'kind': 'VARCHAR', 'reference': 'VARCHAR', 'amount': 'BIGINT', 'status': 'VARCHAR',
    'day': 'DATE', 'agency': 'VARCHAR', 'transaction_id': 'VARCHAR', 'refund_reference': 'VARCHAR'});

CREATE TABLE hub_ranked AS
SELECT *, row_number() OVER (PARTITION BY transaction_id
                             ORDER BY reference, amount, fee, net, agency, kind, hub_time, dossier, line) AS dup_rank
FROM hub;

CREATE TABLE pay AS
SELECT h.*, row_number() OVER (PARTITION BY h.reference
                               ORDER BY coalesce(h.transaction_id <> o.transaction_id, true), h.transaction_id,
                                        h.line) AS ref_rank
FROM hub_ranked h LEFT JOIN ours o ON o.reference = h.reference AND o.kind = 'payment'
WHERE h.kind = 'payment' AND h.dup_rank = 1;

CREATE TABLE hr AS
SELECT *, -amount AS size, row_number() OVER (PARTITION BY reference, -amount ORDER BY transaction_id, line) AS n
FROM hub_ranked WHERE kind = 'refund' AND dup_rank = 1;

CREATE TABLE orf AS
SELECT *, row_number() OVER (PARTITION BY reference, amount ORDER BY refund_reference, id) AS n
FROM ours WHERE kind = 'refund';

CREATE TABLE rexact AS
SELECT h.line, o.id, o.status, h.amount, h.fee, h.net, h.agency <> o.agency AS other_agency
FROM hr h JOIN orf o ON o.reference = h.reference AND o.amount = h.size AND o.n = h.n;

CREATE TABLE hl AS
SELECT *, row_number() OVER (PARTITION BY reference ORDER BY size, transaction_id) AS m
FROM hr WHERE line NOT IN (SELECT line FROM rexact);

CREATE TABLE ol AS
SELECT *, row_number() OVER (PARTITION BY reference ORDER BY amount, refund_reference, id) AS m
FROM orf WHERE id NOT IN (SELECT id FROM rexact);

CREATE TABLE rdiff AS
SELECT h.line, o.id, h.agency <> o.agency AS other_agency FROM hl h JOIN ol o ON o.reference = h.reference AND o.m = h.m;

CREATE TABLE lines AS
SELECT 'duplicate' AS class, line FROM hub_ranked WHERE dup_rank > 1
UNION ALL
SELECT 'duplicate', line FROM pay WHERE ref_rank > 1
UNION ALL
SELECT CASE WHEN o.id IS NULL THEN 'missing_in_ours'
            WHEN p.agency <> o.agency THEN 'agency_mismatch'
            WHEN p.amount <> o.amount THEN 'amount_mismatch'
            WHEN o.status NOT IN ('paid', 'partially_refunded', 'refunded', 'succeeded') THEN 'status_mismatch'
            WHEN p.net <> p.amount - p.fee THEN 'net_mismatch'
            WHEN o.day < DATE '{day}' THEN 'late_settlement'
            ELSE 'matched' END, p.line
FROM pay p LEFT JOIN ours o ON o.reference = p.reference AND o.kind = 'payment'
WHERE p.ref_rank = 1
UNION ALL
SELECT CASE WHEN w.n >= {cutoff} THEN 'missing_at_hub' ELSE 'awaiting_hub' END, NULL
FROM ours o JOIN waited w ON w.day = o.day
WHERE o.kind = 'payment' AND o.status IN ('paid', 'partially_refunded', 'refunded', 'succeeded')
  AND NOT EXISTS (SELECT 1 FROM pay p WHERE p.ref_rank = 1 AND p.reference = o.reference)
UNION ALL
SELECT CASE WHEN other_agency THEN 'agency_mismatch'
            WHEN status NOT IN ('paid', 'partially_refunded', 'refunded', 'succeeded') THEN 'status_mismatch'
            WHEN net <> amount - fee THEN 'net_mismatch'
            ELSE 'refund' END, line
FROM rexact
UNION ALL
SELECT CASE WHEN other_agency THEN 'agency_mismatch' ELSE 'amount_mismatch' END, line FROM rdiff
UNION ALL
SELECT 'missing_in_ours', line FROM hl WHERE line NOT IN (SELECT line FROM rdiff)
UNION ALL
SELECT CASE WHEN w.n >= {cutoff} THEN 'missing_at_hub' ELSE 'awaiting_hub' END, NULL
FROM ol o JOIN waited w ON w.day = o.day
WHERE o.id NOT IN (SELECT id FROM rdiff) AND o.status IN ('paid', 'partially_refunded', 'refunded', 'succeeded');
