#!/usr/bin/env bash
# Compares, in one run on one database, the worklist's text-search condition
# before issue 16 (DICOM accession/MRN/name only), as it is since migration
# 0060 (the order's accession/MRN/name too, one trigram index per name
# column), and an alternative that was tried and rejected (both names in one
# trigram-indexed expression: slower).
# Each form: 21 EXPLAIN ANALYZE runs of the page query's first step, median
# execution time. Needs a database filled by `go run ./bench/worklist -keep`:
#
#   bench/worklist/search-forms.sh 'postgres://127.0.0.1:5432/radraft_bench_worklist_N?sslmode=disable'
#
# It creates the alternative's index for the comparison and drops it after.
set -euo pipefail
db=$1
psql "$db" -qc "CREATE INDEX IF NOT EXISTS bench_names_trgm_idx ON studies USING gin (lower(patient_name || ' ' || order_patient_name) gin_trgm_ops)"
trap 'psql "$db" -qc "DROP INDEX IF EXISTS bench_names_trgm_idx"' EXIT
# a clean table: GIN pending lists (left by the bulk load) would dominate
psql "$db" -qc "VACUUM ANALYZE studies"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # label prefix-pattern name-pattern form
  local cond
  case $4 in
    before) cond="lower(accession_number) LIKE '$2' OR lower(patient_id) LIKE '$2' OR lower(patient_name) LIKE '$3'" ;;
    0060) cond="lower(accession_number) LIKE '$2' OR lower(patient_id) LIKE '$2' OR lower(order_accession_number) LIKE '$2' OR lower(order_patient_id) LIKE '$2' OR lower(patient_name) LIKE '$3' OR lower(order_patient_name) LIKE '$3'" ;;
    combined) cond="lower(accession_number) LIKE '$2' OR lower(patient_id) LIKE '$2' OR lower(order_accession_number) LIKE '$2' OR lower(order_patient_id) LIKE '$2' OR lower(patient_name || ' ' || order_patient_name) LIKE '$3'" ;;
  esac
  local q="EXPLAIN (ANALYZE) SELECT study_uid FROM studies WHERE $cond ORDER BY COALESCE(study_date, DATE '0001-01-01') DESC, study_uid DESC LIMIT 51"
  local m
  m=$(for _ in $(seq 21); do psql "$db" -tAc "$q" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p'; done | median)
  printf '| %s | %s | %s |\n' "$1" "$4" "$m"
}
echo '| search | form | median ms |'
echo '|---|---|---|'
for form in before 0060 combined; do run 'q=A0004217 (accession)' 'a0004217%' '%a0004217%' $form; done
for form in before 0060 combined; do run 'q=smit (name)' 'smit%' '%smit%' $form; done
