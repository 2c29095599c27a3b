// The study's identity as the DICOM header and the HL7 order give it: the
// DICOM value is shown when there is one, else the order's (marked as
// such); when both exist and differ the difference is flagged.

import type { OrderIdentity } from './api';
import { h, personName } from './dom';

export type IdentityField = 'accession_number' | 'patient_id' | 'patient_name';

const ORDER_KEY: Record<IdentityField, keyof OrderIdentity> = {
  accession_number: 'order_accession_number',
  patient_id: 'order_patient_id',
  patient_name: 'order_patient_name',
};

/** The value to show: DICOM first, else the order's. */
export function identityValue(st: OrderIdentity & Record<IdentityField, string>, field: IdentityField): { value: string; fromOrder: boolean } {
  const dicom = st[field] ?? '';
  const order = String(st[ORDER_KEY[field]] ?? '');
  return dicom ? { value: dicom, fromOrder: false } : { value: order, fromOrder: order !== '' };
}

/** The value with its provenance and the mismatch flag, as inline content. */
export function identityContent(st: OrderIdentity & Record<IdentityField, string>, field: IdentityField): (HTMLElement | string)[] {
  const { value, fromOrder } = identityValue(st, field);
  const show = field === 'patient_name' ? personName(value) : value;
  const out: (HTMLElement | string)[] = [show];
  if (fromOrder) out.push(' ', h('span', { class: 'badge neutral', title: 'The DICOM header has none; this is the HL7 order\'s', 'data-testid': `from-order-${field}` }, 'order'));
  if (st.mismatch?.includes(field)) {
    const other = String(st[ORDER_KEY[field]] ?? '');
    const otherShow = field === 'patient_name' ? personName(other) : other;
    out.push(
      ' ',
      h('span', { class: 'badge warn', title: `The HL7 order says ${otherShow}; the DICOM value is shown`, 'data-testid': `mismatch-${field}` }, `≠ order: ${otherShow}`),
    );
  }
  return out;
}
