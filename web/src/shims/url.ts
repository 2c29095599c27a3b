// Browser stand-in for Node's "url", which @oozcitak/url (via xmlbuilder2,
// via Cornerstone) requires for two IDNA helpers. The browser's URL parser
// does the ASCII (punycode) conversion; the reverse is not needed by the
// viewer, so it returns the domain unchanged.
export function domainToASCII(domain: string): string {
  try {
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return '';
  }
}

export function domainToUnicode(domain: string): string {
  return domain;
}

export default { domainToASCII, domainToUnicode };
