//! Fast ECDSA P-256 / SHA-256 verification for one public key that checks many signatures.
//!
//! `harrow certs` verifies tens of thousands of certificate signatures made by a handful of
//! issuer keys. Instead of a generic constant-time scalar multiplication per signature, each key
//! gets a [`KeyTable`]: a fixed-base comb of its affine multiples (26 windows of 10 bits, 512
//! signed multiples each: 832 KiB, ~5 ms to build), and the generator has one such table (22
//! windows of 12 bits: 2.75 MiB, built once on first use). `u1·G + u2·Q` then costs at most 48
//! mixed additions and no doubling or field inversion. Everything here handles public data only
//! (keys, signatures, messages), so the arithmetic is variable-time.
//!
//! The accept/reject decision follows ring 0.17's `ECDSA_P256_SHA256_ASN1` exactly: strict DER,
//! `r` and `s` in `[1, n-1]`, the SHA-256 digest reduced mod `n`, the identity rejected, and `x(R)`
//! compared with `r` and, when `r + n < p`, with `r + n`, in Jacobian coordinates. Field arithmetic
//! is our own Montgomery arithmetic on four 64-bit limbs; scalars mod `n` use the `p256` crate.

use p256::elliptic_curve::ff::{Field, PrimeField};
use p256::elliptic_curve::ops::Reduce;
use p256::{FieldBytes, Scalar};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The field prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1, little-endian 64-bit limbs.
const P: [u64; 4] = [u64::MAX, 0x0000_0000_ffff_ffff, 0, 0xffff_ffff_0000_0001];
/// The group order n, little-endian limbs.
const N: [u64; 4] = [
    0xf3b9_cac2_fc63_2551,
    0xbce6_faad_a717_9e84,
    u64::MAX,
    0xffff_ffff_0000_0000,
];
/// p - 2, the exponent for inversion by Fermat's little theorem.
const P_MINUS_2: [u64; 4] = [
    u64::MAX - 2,
    0x0000_0000_ffff_ffff,
    0,
    0xffff_ffff_0000_0001,
];
/// 2^512 mod p: multiplying by it moves a value into Montgomery form.
const R2: Fe = Fe([
    3,
    0xffff_fffb_ffff_ffff,
    0xffff_ffff_ffff_fffe,
    0x0000_0004_ffff_fffd,
]);
/// 1 in Montgomery form (2^256 mod p).
const ONE: Fe = Fe([1, 0xffff_ffff_0000_0000, u64::MAX, 0x0000_0000_ffff_fffe]);
/// The curve's b coefficient and the generator's coordinates, big-endian.
const B_BYTES: [u8; 32] = hex32("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
const GX_BYTES: [u8; 32] =
    hex32("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
const GY_BYTES: [u8; 32] =
    hex32("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");

/// Comb window widths in bits: a key's table holds 26 windows × 512 points (832 KiB), the
/// generator's, built once, 22 × 2048 (2.75 MiB).
const KEY_BITS: u32 = 10;
const GENERATOR_BITS: u32 = 12;
/// Most table points one verification adds.
const MAX_POINTS: usize = Comb::windows(KEY_BITS) + Comb::windows(GENERATOR_BITS);

const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        }
    }
    let s = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 && 2 * i + 1 < s.len() {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a - b - borrow` with `borrow` in {0, 1}; returns the new borrow in {0, 1}.
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = u128::from(a).wrapping_sub(u128::from(b) + u128::from(borrow));
    (t as u64, (t >> 127) as u64)
}

/// `acc + a·b + carry`, which always fits in 128 bits.
#[inline(always)]
fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(acc) + u128::from(a) * u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a op b` limb by limb with the carry (or borrow) passed along: [`adc`] or [`sbb`].
#[inline(always)]
fn chain4(a: &[u64; 4], b: &[u64; 4], op: impl Fn(u64, u64, u64) -> (u64, u64)) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut c = 0;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        (*o, c) = op(*x, *y, c);
    }
    (out, c)
}

#[inline(always)]
fn add4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    chain4(a, b, adc)
}

#[inline(always)]
fn sub4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    chain4(a, b, sbb)
}

/// Big-endian 32 bytes to little-endian limbs.
fn limbs_from_be(bytes: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().rev().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(word);
    }
    limbs
}

/// An element of GF(p) in Montgomery form (a·2^256 mod p), always fully reduced below p.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
struct Fe([u64; 4]);

impl Fe {
    /// `v + carry·2^256`, known to be below 2p, reduced below p.
    #[inline(always)]
    fn reduce_once(v: [u64; 4], carry: u64) -> Fe {
        let (d, borrow) = sub4(&v, &P);
        // Keep v only when it was already below p (a borrow and no carry out of the top limb).
        let keep = 0u64.wrapping_sub(borrow & !carry & 1);
        Fe([
            (v[0] & keep) | (d[0] & !keep),
            (v[1] & keep) | (d[1] & !keep),
            (v[2] & keep) | (d[2] & !keep),
            (v[3] & keep) | (d[3] & !keep),
        ])
    }

    #[inline(always)]
    fn add(&self, other: &Fe) -> Fe {
        let (s, carry) = add4(&self.0, &other.0);
        Fe::reduce_once(s, carry)
    }

    #[inline(always)]
    fn sub(&self, other: &Fe) -> Fe {
        let (d, borrow) = sub4(&self.0, &other.0);
        let mask = 0u64.wrapping_sub(borrow);
        let p = [P[0] & mask, P[1] & mask, P[2] & mask, P[3] & mask];
        Fe(add4(&d, &p).0)
    }

    #[inline(always)]
    fn double(&self) -> Fe {
        self.add(self)
    }

    /// Montgomery product self·other·2^-256 mod p.
    #[inline(always)]
    fn mul(&self, other: &Fe) -> Fe {
        let (a, b) = (&self.0, &other.0);
        let mut t = [0u64; 8];
        for i in 0..4 {
            let mut carry = 0;
            for j in 0..4 {
                (t[i + j], carry) = mac(t[i + j], a[i], b[j], carry);
            }
            t[i + 4] = carry;
        }
        Fe::montgomery_reduce(t)
    }

    #[inline(always)]
    fn square(&self) -> Fe {
        self.mul(self)
    }

    /// t·2^-256 mod p for t < p·2^256. Round i adds m·p·2^(64i) with m = `t[i]`, which clears limb i
    /// as p ≡ -1 (mod 2^64). With p's limbs (2^64 - 1, 2^32 - 1, 0, `p[3]`), m·p = m·2^96 +
    /// `m·p[3]·2^192 - m`: the -m cancels limb i, so a round is one shifted add and one product.
    #[inline(always)]
    fn montgomery_reduce(mut t: [u64; 8]) -> Fe {
        let mut top = 0;
        for i in 0..4 {
            let m = t[i];
            let (l1, c) = adc(t[i + 1], m << 32, 0);
            let (l2, c) = adc(t[i + 2], m >> 32, c);
            let (l3, c) = mac(t[i + 3], m, P[3], c);
            let (l4, c) = adc(t[i + 4], c, top);
            (t[i + 1], t[i + 2], t[i + 3], t[i + 4], top) = (l1, l2, l3, l4, c);
        }
        Fe::reduce_once([t[4], t[5], t[6], t[7]], top)
    }

    fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    fn neg(&self) -> Fe {
        Fe::default().sub(self)
    }

    /// From plain little-endian limbs that are below p.
    fn from_limbs(limbs: [u64; 4]) -> Fe {
        Fe(limbs).mul(&R2)
    }

    /// From a big-endian canonical encoding; None when not below p.
    fn from_be(bytes: &[u8; 32]) -> Option<Fe> {
        let limbs = limbs_from_be(bytes);
        (sub4(&limbs, &P).1 == 1).then(|| Fe::from_limbs(limbs))
    }

    /// self^(p-2) = self^-1 (0 for 0).
    fn invert(&self) -> Fe {
        let mut r = ONE;
        for limb in P_MINUS_2.iter().rev() {
            for bit in (0..64).rev() {
                r = r.square();
                if (limb >> bit) & 1 == 1 {
                    r = r.mul(self);
                }
            }
        }
        r
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Affine {
    x: Fe,
    y: Fe,
}

/// Jacobian coordinates: (X, Y, Z) is the point (X/Z², Y/Z³); Z = 0 is the identity.
#[derive(Clone, Copy, Debug, Default)]
struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jacobian {
    fn is_identity(&self) -> bool {
        self.z.is_zero()
    }

    /// 2·self for a = -3 (dbl-2001-b).
    fn double(&self) -> Jacobian {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.mul(&self.z).double();
        let gamma2_8 = gamma.square().double().double().double();
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma2_8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// self + q (madd-2007-bl), with the identity, doubling and inverse cases handled.
    fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_identity() {
            return Jacobian {
                x: q.x,
                y: q.y,
                z: ONE,
            };
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::default()
            };
        }
        let i = h.square().double().double();
        let j = h.mul(&i);
        let v = self.x.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&j).double());
        let z3 = self.z.mul(&h).double();
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    fn to_affine(self) -> Option<Affine> {
        let zinv = (!self.is_identity()).then(|| self.z.invert())?;
        let zinv2 = zinv.square();
        Some(Affine {
            x: self.x.mul(&zinv2),
            y: self.y.mul(&zinv2.mul(&zinv)),
        })
    }
}

/// Affine multiples of one base point B for signed windows of `bits` bits: entry
/// `window·2^(bits-1) + m - 1` is `m·2^(bits·window)·B` for m in 1..=2^(bits-1).
struct Comb {
    bits: u32,
    points: Vec<Affine>,
}

impl Comb {
    /// Windows needed for any 256-bit scalar: the top one holds fewer than `bits` bits (or none),
    /// so it also absorbs the last carry of the signed recoding.
    const fn windows(bits: u32) -> usize {
        256 / bits as usize + 1
    }

    fn new(base: Affine, bits: u32) -> Option<Comb> {
        let multiples = 1usize << (bits - 1);
        let mut jacobian = Vec::with_capacity(Comb::windows(bits) * multiples);
        let mut window_base = base;
        for _ in 0..Comb::windows(bits) {
            let mut acc = Jacobian::default().add_affine(&window_base);
            jacobian.push(acc);
            for _ in 1..multiples {
                acc = acc.add_affine(&window_base);
                jacobian.push(acc);
            }
            // 2^bits times this window's base is twice its largest multiple.
            window_base = acc.double().to_affine()?;
        }
        // Batch normalisation (Montgomery's trick): one inversion for all points.
        let mut prefix = Vec::with_capacity(jacobian.len());
        let mut product = ONE;
        for point in &jacobian {
            if point.is_identity() {
                return None;
            }
            prefix.push(product);
            product = product.mul(&point.z);
        }
        let mut inverse = product.invert();
        let mut points = vec![Affine::default(); jacobian.len()];
        for ((out, point), before) in points.iter_mut().zip(&jacobian).zip(&prefix).rev() {
            let zinv = inverse.mul(before);
            inverse = inverse.mul(&point.z);
            let zinv2 = zinv.square();
            *out = Affine {
                x: point.x.mul(&zinv2),
                y: point.y.mul(&zinv2.mul(&zinv)),
            };
        }
        Some(Comb { bits, points })
    }

    /// Appends to `out` (from `*len` on) the table points whose sum is k·B, for the big-endian
    /// 256-bit scalar k. Gathering every point before adding lets their loads overlap instead of
    /// each cache miss stalling the chain of additions.
    fn gather(&self, k: &[u8; 32], out: &mut [Affine], len: &mut usize) -> Option<()> {
        let limbs = limbs_from_be(k);
        let bits = self.bits as usize;
        let (half, full) = (1i64 << (bits - 1), 1i64 << bits);
        // Signed recoding, least significant window first: digits in [-(half - 1), half].
        let mut carry = 0i64;
        for window in 0..Comb::windows(self.bits) {
            let (start, offset) = ((window * bits) / 64, (window * bits) % 64);
            let low = limbs.get(start).map_or(0, |l| l >> offset);
            let high = match offset {
                0 => 0,
                _ => limbs.get(start + 1).map_or(0, |l| l << (64 - offset)),
            };
            let v = i64::try_from((low | high) & (full as u64 - 1)).ok()? + carry;
            carry = i64::from(v > half);
            let digit = v - carry * full;
            if digit != 0 {
                let m = usize::try_from(digit.unsigned_abs()).ok()?;
                let point = self.points.get((window << (bits - 1)) + m - 1)?;
                *out.get_mut(*len)? = if digit > 0 {
                    *point
                } else {
                    Affine {
                        x: point.x,
                        y: point.y.neg(),
                    }
                };
                *len += 1;
            }
        }
        (carry == 0).then_some(())
    }
}

/// Precomputed multiples of one P-256 public key.
pub struct KeyTable {
    comb: Comb,
}

impl std::fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyTable")
            .field("points", &self.comb.points.len())
            .finish()
    }
}

impl KeyTable {
    /// From the SEC1 public key bytes as found in a SubjectPublicKeyInfo's BIT STRING: the
    /// uncompressed `0x04 || X || Y`, the only form ring accepts. None when the bytes are not
    /// such an encoding of a point on the curve.
    pub fn new(sec1_point: &[u8]) -> Option<KeyTable> {
        let (&tag, coordinates) = sec1_point.split_first()?;
        if tag != 0x04 || coordinates.len() != 64 {
            return None;
        }
        let (xb, yb) = coordinates.split_at(32);
        let x = Fe::from_be(xb.try_into().ok()?)?;
        let y = Fe::from_be(yb.try_into().ok()?)?;
        let b = Fe::from_be(&B_BYTES)?;
        let three_x = x.double().add(&x);
        if y.square() != x.square().mul(&x).sub(&three_x).add(&b) {
            return None;
        }
        Some(KeyTable {
            comb: Comb::new(Affine { x, y }, KEY_BITS)?,
        })
    }

    /// Heap bytes held by the table.
    pub fn table_bytes(&self) -> usize {
        self.comb.points.len() * std::mem::size_of::<Affine>()
    }
}

fn generator_comb() -> Option<&'static Comb> {
    static TABLE: OnceLock<Option<Comb>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let g = Affine {
                x: Fe::from_be(&GX_BYTES)?,
                y: Fe::from_be(&GY_BYTES)?,
            };
            Comb::new(g, GENERATOR_BITS)
        })
        .as_ref()
}

/// One DER TLV with the given tag and a short-form length, and what follows it. ring also takes
/// the long forms 0x81/0x82, but only for lengths of 128 or more, which no P-256 signature with
/// in-range r and s can have, so refusing them changes no outcome.
fn der_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&actual, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if actual != tag || len >= 0x80 || rest.len() < usize::from(len) {
        return None;
    }
    Some(rest.split_at(usize::from(len)))
}

/// A positive, minimally encoded INTEGER's magnitude (ring's `der::positive_integer`).
fn der_positive(value: &[u8]) -> Option<&[u8]> {
    match value {
        [0, second, ..] if second & 0x80 != 0 => value.get(1..),
        [first, ..] if *first != 0 && first & 0x80 == 0 => Some(value),
        _ => None,
    }
}

/// A scalar in [1, n-1] from big-endian bytes without leading zeros.
fn scalar_in_range(magnitude: &[u8]) -> Option<([u8; 32], Scalar)> {
    let mut bytes = [0u8; 32];
    let start = 32usize.checked_sub(magnitude.len())?;
    bytes.get_mut(start..)?.copy_from_slice(magnitude);
    let scalar = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(bytes)))?;
    (!bool::from(scalar.is_zero())).then_some((bytes, scalar))
}

/// Verify an ECDSA P-256 signature over SHA-256(`message`) — `message` is the TBSCertificate
/// bytes; `sig_der` is the DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (the
/// content of the certificate's signatureValue BIT STRING). Returns true only when the signature
/// verifies.
pub fn verify(table: &KeyTable, message: &[u8], sig_der: &[u8]) -> bool {
    verify_inner(table, message, sig_der).unwrap_or(false)
}

fn verify_inner(table: &KeyTable, message: &[u8], sig_der: &[u8]) -> Option<bool> {
    let (sequence, trailing) = der_tlv(sig_der, 0x30)?;
    let (r_der, rest) = der_tlv(sequence, 0x02)?;
    let (s_der, rest) = der_tlv(rest, 0x02)?;
    if !trailing.is_empty() || !rest.is_empty() {
        return None;
    }
    let (r_bytes, r) = scalar_in_range(der_positive(r_der)?)?;
    let (_, s) = scalar_in_range(der_positive(s_der)?)?;

    let e = <Scalar as Reduce<FieldBytes>>::reduce(&Sha256::digest(message));
    let w = Option::<Scalar>::from(s.invert_vartime())?;
    let u1: [u8; 32] = (e * w).to_repr().into();
    let u2: [u8; 32] = (r * w).to_repr().into();

    let mut points = [Affine::default(); MAX_POINTS];
    let mut len = 0;
    generator_comb()?.gather(&u1, &mut points, &mut len)?;
    table.comb.gather(&u2, &mut points, &mut len)?;
    let acc = points
        .get(..len)?
        .iter()
        .fold(Jacobian::default(), |acc, p| acc.add_affine(p));
    if acc.is_identity() {
        return Some(false);
    }
    // x(R) = X/Z² is fully reduced below p < 2n, so x(R) mod n == r iff X == r·Z² or, when
    // r + n < p, X == (r + n)·Z².
    let z2 = acc.z.square();
    let r_limbs = limbs_from_be(&r_bytes);
    if Fe::from_limbs(r_limbs).mul(&z2) == acc.x {
        return Some(true);
    }
    let (r_plus_n, carry) = add4(&r_limbs, &N);
    Some(carry == 0 && sub4(&r_plus_n, &P).1 == 1 && Fe::from_limbs(r_plus_n).mul(&z2) == acc.x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::hazmat::FieldArithmetic;
    use p256::elliptic_curve::point::AffineCoordinates;
    use p256::elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
    use p256::{AffinePoint, NistP256, ProjectivePoint};
    use ring::rand::{SecureRandom, SystemRandom};
    use ring::signature::{self, EcdsaKeyPair, KeyPair};

    type RefFe = <NistP256 as FieldArithmetic>::FieldElement;
    const N_BYTES: [u8; 32] =
        hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    const P_BYTES: [u8; 32] =
        hex32("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");

    fn random<const L: usize>() -> [u8; L] {
        let mut out = [0u8; L];
        SystemRandom::new().fill(&mut out).unwrap();
        out
    }

    fn fe_to_be(fe: &Fe) -> [u8; 32] {
        let plain = fe.mul(&Fe([1, 0, 0, 0])).0;
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(plain.iter().rev()) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    fn ring_verify(key: &[u8], message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, key)
            .verify(message, sig)
            .is_ok()
    }

    /// A public key with its table, built once (tables are slow to build in debug test runs).
    struct Key {
        bytes: Vec<u8>,
        table: Option<KeyTable>,
    }

    impl Key {
        fn new(bytes: Vec<u8>) -> Key {
            let table = KeyTable::new(&bytes);
            Key { bytes, table }
        }
    }

    /// Asserts agreement with ring and returns the shared verdict.
    fn agree(key: &Key, message: &[u8], sig: &[u8]) -> bool {
        let expected = ring_verify(&key.bytes, message, sig);
        let ours = key.table.as_ref().is_some_and(|t| verify(t, message, sig));
        assert_eq!(ours, expected, "sig {sig:02x?}");
        ours
    }

    fn keypair() -> (EcdsaKeyPair, Key) {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let public = Key::new(pair.public_key().as_ref().to_vec());
        (pair, public)
    }

    fn sign(pair: &EcdsaKeyPair, message: &[u8]) -> Vec<u8> {
        pair.sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    fn der_int(magnitude: &[u8]) -> Vec<u8> {
        let start = magnitude
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(magnitude.len() - 1);
        let mut value = magnitude[start..].to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        [vec![0x02, value.len() as u8], value].concat()
    }

    fn der_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        let body = [der_int(r), der_int(s)].concat();
        [vec![0x30, body.len() as u8], body].concat()
    }

    /// Splits a DER signature into the r and s INTEGER TLVs.
    fn split(sig: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let r_len = usize::from(sig[3]) + 2;
        (sig[2..2 + r_len].to_vec(), sig[2 + r_len..].to_vec())
    }

    fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
        [vec![tag, body.len() as u8], body.to_vec()].concat()
    }

    fn scalar(bytes: [u8; 32]) -> Scalar {
        <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(bytes))
    }

    fn point_bytes(p: &ProjectivePoint) -> Vec<u8> {
        p.to_affine().to_sec1_point(false).as_bytes().to_vec()
    }

    fn jacobian_bytes(p: &Jacobian) -> Vec<u8> {
        let a = p.to_affine().unwrap();
        [vec![4], fe_to_be(&a.x).to_vec(), fe_to_be(&a.y).to_vec()].concat()
    }

    #[test]
    fn field_matches_p256() {
        let mut values = vec![[0u8; 32], P_BYTES, P_BYTES, N_BYTES, GX_BYTES, [0xff; 32]];
        values[1][31] -= 1; // p - 1
        values.push(hex32(
            "0000000000000000000000000000000000000000000000000000000000000001",
        ));
        values.extend((0..200).map(|_| random::<32>()));
        let ours: Vec<Option<Fe>> = values.iter().map(Fe::from_be).collect();
        for (bytes, fe) in values.iter().zip(&ours) {
            let reference = Option::<RefFe>::from(RefFe::from_repr((*bytes).into()));
            assert_eq!(fe.is_some(), reference.is_some());
            let (Some(a), Some(ra)) = (fe, reference) else {
                continue;
            };
            assert_eq!(fe_to_be(a), *bytes);
            let inv: [u8; 32] =
                Option::<RefFe>::from(ra.invert()).map_or([0; 32], |i| i.to_repr().into());
            assert_eq!(fe_to_be(&a.invert()), inv);
            for (other, rb) in ours
                .iter()
                .zip(&values)
                .filter_map(|(o, v)| Some((o.as_ref()?, RefFe::from_repr((*v).into()).unwrap())))
                .take(40)
            {
                let want: [[u8; 32]; 3] = [
                    (ra * rb).to_repr().into(),
                    (ra + rb).to_repr().into(),
                    (ra - rb).to_repr().into(),
                ];
                assert_eq!(
                    [
                        fe_to_be(&a.mul(other)),
                        fe_to_be(&a.add(other)),
                        fe_to_be(&a.sub(other))
                    ],
                    want
                );
            }
        }
    }

    #[test]
    fn comb_and_point_ops_match_p256() {
        let q = ProjectivePoint::GENERATOR * scalar(random());
        let q_table = KeyTable::new(&point_bytes(&q)).unwrap();
        let cases = [
            (ProjectivePoint::GENERATOR, generator_comb().unwrap()),
            (q, &q_table.comb),
        ];
        for i in 0..80 {
            let (g, comb) = cases[i % 2];
            let k = match i {
                0 | 1 => [0u8; 32],
                2 | 3 => {
                    let mut n1 = N_BYTES;
                    n1[31] -= 1;
                    n1
                }
                4 | 5 => [0xff; 32],
                6 | 7 => hex32("0000000000000000000000000000000000000000000000000000000000000001"),
                _ => random::<32>(),
            };
            let mut points = [Affine::default(); 33];
            let mut len = 0;
            comb.gather(&k, &mut points, &mut len).unwrap();
            let acc = points[..len]
                .iter()
                .fold(Jacobian::default(), |acc, p| acc.add_affine(p));
            let want = g * scalar(k);
            if i < 2 {
                assert!(acc.is_identity());
                continue;
            }
            assert_eq!(jacobian_bytes(&acc), point_bytes(&want));
            // Exceptional additions: P + P, P + (-P), identity + P.
            let a = acc.to_affine().unwrap();
            assert_eq!(
                jacobian_bytes(&acc.add_affine(&a)),
                point_bytes(&(want + want))
            );
            assert!(
                acc.add_affine(&Affine {
                    x: a.x,
                    y: a.y.neg()
                })
                .is_identity()
            );
            assert_eq!(
                jacobian_bytes(&Jacobian::default().add_affine(&a)),
                point_bytes(&want)
            );
        }
    }

    fn magnitude(der_integer: &[u8]) -> [u8; 32] {
        let m = der_positive(&der_integer[2..]).unwrap();
        [vec![0; 32 - m.len()], m.to_vec()]
            .concat()
            .try_into()
            .unwrap()
    }

    #[test]
    fn valid_signatures_and_tampering_agree_with_ring() {
        for _ in 0..2 {
            let (pair, public) = keypair();
            let (_, other_public) = keypair();
            assert!(public.table.is_some());
            for i in 0..40usize {
                let mut message = vec![0u8; [0, 1, 55, 64, 600, 1500][i % 6] + i];
                SystemRandom::new().fill(&mut message).unwrap();
                let sig = sign(&pair, &message);
                assert!(verify(public.table.as_ref().unwrap(), &message, &sig));
                assert!(agree(&public, &message, &sig));
                assert!(!agree(&other_public, &message, &sig));
                let mut tampered = message.clone();
                tampered.push(1);
                assert!(!agree(&public, &tampered, &sig));
                let mut flipped = message.clone();
                if let Some(byte) = flipped.get_mut(i) {
                    *byte ^= 0x40;
                    assert!(!agree(&public, &flipped, &sig));
                }
                // Flip one bit in every byte of a few signatures, one byte of the others.
                let positions: Vec<usize> = if i < 3 {
                    (0..sig.len()).collect()
                } else {
                    vec![i % sig.len()]
                };
                for at in positions {
                    let mut bad = sig.clone();
                    bad[at] ^= 1 << (at % 8);
                    agree(&public, &message, &bad);
                }
                // The other valid signature for the same R: (r, n - s).
                let (r, s) = split(&sig);
                let s_val = Scalar::from_repr(FieldBytes::from(magnitude(&s))).unwrap();
                let neg_s: [u8; 32] = (-s_val).to_repr().into();
                assert!(agree(&public, &message, &der_sig(&magnitude(&r), &neg_s)));
            }
        }
    }

    #[test]
    fn malformed_and_out_of_range_signatures_agree_with_ring() {
        let (pair, public) = keypair();
        let message = b"tbs certificate bytes";
        let sig = sign(&pair, message);
        let (r, s) = split(&sig);
        let r_mag = der_positive(&r[2..]).unwrap().to_vec();
        let s_mag = der_positive(&s[2..]).unwrap().to_vec();
        let mut n_plus_1 = N_BYTES;
        n_plus_1[31] += 1;
        let mut n_minus_1 = N_BYTES;
        n_minus_1[31] -= 1;
        for bad in [[0u8; 32], N_BYTES, n_plus_1, [0xff; 32], P_BYTES, n_minus_1] {
            assert!(!agree(&public, message, &der_sig(&bad, &s_mag)));
            assert!(!agree(&public, message, &der_sig(&r_mag, &bad)));
        }
        let mut cases = vec![
            vec![],
            vec![0x30, 0x00],
            [sig.clone(), vec![0]].concat(), // trailing bytes
            wrap(0x30, &[r.clone(), s.clone(), vec![2, 1, 1]].concat()), // third INTEGER
            wrap(0x30, &[r.clone(), s.clone(), vec![0]].concat()), // trailing inside
            wrap(0x31, &[r.clone(), s.clone()].concat()), // SET, not SEQUENCE
            wrap(
                0x30,
                &[wrap(0x02, &[&[0u8][..], &r[2..]].concat()), s.clone()].concat(),
            ), // extra zero
            wrap(
                0x30,
                &[r.clone(), wrap(0x02, &[&[0u8][..], &s[2..]].concat())].concat(),
            ),
            wrap(
                0x30,
                &[
                    r.clone(),
                    wrap(0x02, &[&[0x80 | s_mag[0]][..], &s_mag[1..]].concat()),
                ]
                .concat(),
            ),
            wrap(0x30, &[wrap(0x02, &[0xff]), s.clone()].concat()), // negative
            wrap(0x30, &[wrap(0x02, &[0x00]), s.clone()].concat()), // zero
            wrap(0x30, &[wrap(0x02, &[]), s.clone()].concat()),     // empty INTEGER
            wrap(0x30, &[r.clone(), wrap(0x04, &s_mag)].concat()),  // OCTET STRING
            wrap(
                0x30,
                &[wrap(0x02, &[&[1u8][..], &r_mag].concat()), s.clone()].concat(),
            ), // 33 bytes
            [vec![0x30, 0x81, (sig.len() - 2) as u8], sig[2..].to_vec()].concat(), // long form
        ];
        if r_mag[0] & 0x80 != 0 {
            cases.push(wrap(0x30, &[wrap(0x02, &r_mag), s.clone()].concat())); // missing 0x00
        }
        for i in 0..sig.len() {
            cases.push(sig[..i].to_vec()); // truncated
        }
        for case in cases {
            assert!(!agree(&public, message, &case), "{case:02x?}");
        }
    }

    #[test]
    fn bad_public_keys_are_rejected() {
        let (pair, public) = keypair();
        let message = b"m";
        let sig = sign(&pair, message);
        let public = public.bytes;
        let mut off_curve = public.clone();
        off_curve[64] ^= 1;
        let mut x_too_big = public.clone();
        x_too_big[1..33].copy_from_slice(&P_BYTES);
        let compressed = [&[2 + (public[64] & 1)][..], &public[1..33]].concat();
        let mut bad_tag = public.clone();
        bad_tag[0] = 0x06;
        for key in [
            off_curve,
            x_too_big,
            compressed,
            bad_tag,
            vec![0],
            vec![],
            public[..64].to_vec(),
        ] {
            assert!(KeyTable::new(&key).is_none());
            assert!(!ring_verify(&key, message, &sig));
        }
    }

    /// A signature whose x(R) lies in [n, p), so only the r + n comparison accepts it; the key
    /// is chosen as Q = u2⁻¹·(R - u1·G).
    #[test]
    fn x_above_n_uses_the_r_plus_n_branch() {
        let message = b"wraparound";
        let e = scalar(Sha256::digest(message).into());
        let (x0, r0) = loop {
            let t: [u8; 15] = random();
            let (x, c) = add4(
                &limbs_from_be(&[&[0u8; 17][..], &t].concat().try_into().unwrap()),
                &N,
            );
            assert_eq!(c, 0);
            let x_bytes = fe_to_be(&Fe::from_limbs(x));
            let encoded = [&[2u8][..], &x_bytes].concat();
            if let Ok(point) = AffinePoint::from_sec1_bytes(&encoded) {
                break (point, [&[0u8; 17][..], &t].concat());
            }
        };
        let r = scalar(r0.clone().try_into().unwrap());
        let s = scalar(random());
        let w = s.invert().unwrap();
        let (u1, u2) = (e * w, r * w);
        let q =
            (ProjectivePoint::from(x0) - ProjectivePoint::GENERATOR * u1) * u2.invert().unwrap();
        let key = Key::new(point_bytes(&q));
        let s_bytes: [u8; 32] = s.to_repr().into();
        assert!(agree(&key, message, &der_sig(&r0, &s_bytes)));
        assert!(!agree(&key, message, &der_sig(&x0.x(), &s_bytes)));
        assert!(!agree(&key, b"other", &der_sig(&r0, &s_bytes)));
    }

    /// Key = G with r = -e: u1·G + u2·G is the identity, which must be rejected.
    #[test]
    fn identity_result_is_rejected() {
        let message = b"identity";
        let e = scalar(Sha256::digest(message).into());
        let r: [u8; 32] = (-e).to_repr().into();
        let key = Key::new(point_bytes(&ProjectivePoint::GENERATOR));
        let s: [u8; 32] = scalar(random()).to_repr().into();
        assert!(!agree(&key, message, &der_sig(&r, &s)));
    }
}
