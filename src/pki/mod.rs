//! PEM/DER parsing of certificates, private keys, `.pub-fingerprint` files and CSRs; key↔cert
//! pairing; tokens in their three forms and the token CA hash (RKE2's hashCA); keyed fingerprints
//! for secrets.
