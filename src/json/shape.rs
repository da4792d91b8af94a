//! Shapes: the layout of a JSON value with its scalar leaves cut out.
//!
//! Messages of one channel nearly always share a layout: the same keys in
//! the same order, the same spacing, only the numbers and strings change.
//! A [`Shape`] keeps the text between the leaves of one message verbatim;
//! [`Shape::read`] then reads a later message by comparing those pieces
//! byte for byte and parsing only the leaves, with no key scanning and no
//! lookups. Every byte is still checked: the pieces come from a value that
//! was valid JSON, and each leaf is parsed with the full grammar of its
//! kind, so text that fits a shape is valid JSON. Text that does not fit
//! is reported as a miss, and the caller walks it the general way.

use super::{ScanError, Scanner};

/// Most leaves in one shape.
pub const MAX_LEAVES: usize = 256;
/// Most bytes of text between the leaves of one shape.
pub const MAX_TEXT: usize = 4 * 1024;

/// Values walked (and learned from) before learning becomes rare.
const EAGER_LEARNING: u32 = 16;

/// Whether the `walked`-th value walked the general way (counting from 0)
/// should also be learned from: the first 16, then only the 32nd, 64th,
/// 128th…, so a source whose layout never settles costs little extra.
pub fn learning_due(walked: u32) -> bool {
    walked < EAGER_LEARNING || walked.is_power_of_two()
}

/// What a leaf of a shape may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// A number.
    Number,
    /// A string.
    String,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// A leaf's value as read through a shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf<'a> {
    /// A number, correctly rounded.
    Number(f64),
    /// A string as written between its quotes, and whether it has escapes.
    String(&'a str, bool),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
}

impl Leaf<'_> {
    /// The leaf as a number: numbers as they are, booleans as 1 and 0,
    /// strings and `null` as NaN.
    pub fn as_number(self) -> f64 {
        match self {
            Leaf::Number(value) => value,
            Leaf::Bool(truth) => f64::from(u8::from(truth)),
            Leaf::String(..) | Leaf::Null => f64::NAN,
        }
    }
}

/// The layout of one JSON value: the text around its scalar leaves, and
/// each leaf's kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// The pieces of text before each leaf, then the piece after the last,
    /// one after another.
    text: Vec<u8>,
    /// Per leaf: where its piece of `text` ends, and its kind.
    leaves: Vec<(u32, LeafKind)>,
    /// Per piece (one per leaf, then the last): its first 16 bytes, zero
    /// padded, for comparing in one go.
    heads: Vec<u128>,
}

impl Shape {
    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.leaves.len()
    }

    /// The kind of each leaf, in order.
    pub fn leaf_kinds(&self) -> impl Iterator<Item = LeafKind> + '_ {
        self.leaves.iter().map(|(_, kind)| *kind)
    }

    /// Bytes of memory it holds.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.leaves.capacity() * std::mem::size_of::<(u32, LeafKind)>()
            + self.heads.capacity() * std::mem::size_of::<u128>()
    }

    /// Reads `text` (one JSON value, nothing around it) through this
    /// shape, handing each leaf to `visit` with its index. True when the
    /// text fits; false at the first byte that does not (leaves before it
    /// have been visited), and the text must then be read another way.
    pub fn read<'a>(&self, text: &'a str, visit: impl FnMut(usize, Leaf<'a>)) -> bool {
        self.fit::<true, _>(text, 0, visit) == Some(text.len())
    }

    /// Checks the value that starts at byte `start` of `text` against this
    /// shape, without converting its leaves: where it ends when it fits
    /// (it is then valid JSON), `None` when it does not.
    pub fn check(&self, text: &str, start: usize) -> Option<usize> {
        self.fit::<false, _>(text, start, |_, _| {})
    }

    /// Checks the value that starts at byte `start` of `text` against this
    /// shape like [`Self::check`], and appends each leaf's value to
    /// `values` ([`Leaf::as_number`]): where the value ends when it fits.
    /// On a misfit `values` is left as it was.
    pub fn read_values(&self, text: &str, start: usize, values: &mut Vec<f64>) -> Option<usize> {
        let before = values.len();
        let end = self.fit::<true, _>(text, start, |_, leaf| values.push(leaf.as_number()));
        if end.is_none() {
            values.truncate(before);
        }
        end
    }

    /// The shape of `text`, one valid JSON value; `None` past the limits.
    pub fn learn(text: &str) -> Option<Shape> {
        let mut builder = ShapeBuilder::new();
        let mut scanner = Scanner::new(text);
        learn_value(&mut scanner, &mut builder, 0).ok()?;
        scanner.end().ok()?;
        builder.finish(text)
    }

    /// Matches the pieces and reads the leaves (converted with `VALUES`,
    /// else only checked) from `start`; the end of the value on a fit.
    #[inline]
    fn fit<'a, const VALUES: bool, V: FnMut(usize, Leaf<'a>)>(
        &self,
        text: &'a str,
        start: usize,
        mut visit: V,
    ) -> Option<usize> {
        let bytes = text.as_bytes();
        let mut scanner = Scanner::new(text);
        scanner.pos = start;
        let mut piece_start = 0;
        for (index, (&(piece_end, kind), &head)) in self.leaves.iter().zip(&self.heads).enumerate()
        {
            let piece = &self.text[piece_start..piece_end as usize];
            piece_start = piece_end as usize;
            if !starts_with(bytes.get(scanner.pos..)?, piece, head) {
                return None;
            }
            scanner.pos += piece.len();
            if VALUES {
                visit(index, read_leaf(&mut scanner, kind).ok()?);
            } else {
                check_leaf(&mut scanner, kind).ok()?;
            }
        }
        let tail = &self.text[piece_start..];
        let head = self.heads.last().copied().unwrap_or_default();
        starts_with(bytes.get(scanner.pos..)?, tail, head).then(|| scanner.pos + tail.len())
    }
}

impl<'a> Scanner<'a> {
    /// The value at the cursor (after whitespace) when it fits `shape`,
    /// as written, with the cursor moved past it; `None`, with the cursor
    /// on the value's first byte, when it does not fit.
    pub fn value_fitting(&mut self, shape: &Shape) -> Option<&'a str> {
        self.value_through(|text, start| shape.check(text, start))
    }

    /// [`Self::value_fitting`], appending the leaves' values to `values`
    /// as [`Shape::read_values`] does.
    pub fn value_fitting_read(&mut self, shape: &Shape, values: &mut Vec<f64>) -> Option<&'a str> {
        self.value_through(|text, start| shape.read_values(text, start, values))
    }

    /// The value at the cursor (after whitespace) that `fit` finds the end
    /// of, with the cursor moved past it; the cursor on its first byte
    /// when `fit` gives `None`.
    fn value_through(&mut self, fit: impl FnOnce(&str, usize) -> Option<usize>) -> Option<&'a str> {
        self.skip_ws();
        let start = self.pos;
        let end = fit(self.text, start)?;
        self.pos = end;
        Some(&self.text[start..end])
    }
}

/// Walks one valid value into `builder`.
fn learn_value(
    scanner: &mut Scanner<'_>,
    builder: &mut ShapeBuilder,
    depth: usize,
) -> Result<(), ScanError> {
    let next = scanner.peek();
    let start = scanner.pos;
    let kind = match next {
        Some(b'{' | b'[') if depth + 1 >= super::MAX_NESTING => {
            return Err(scanner.error("JSON nested too deeply"));
        }
        Some(b'{') => {
            scanner.begin_object()?;
            let mut first = true;
            while scanner.next_key(&mut first)?.is_some() {
                learn_value(scanner, builder, depth + 1)?;
            }
            return Ok(());
        }
        Some(b'[') => {
            scanner.begin_array()?;
            let mut first = true;
            while scanner.next_element(&mut first)? {
                learn_value(scanner, builder, depth + 1)?;
            }
            return Ok(());
        }
        Some(b'"') => LeafKind::String,
        Some(b't' | b'f') => LeafKind::Bool,
        Some(b'n') => LeafKind::Null,
        _ => LeafKind::Number,
    };
    check_leaf(scanner, kind)?;
    builder.leaf(scanner.text, start, scanner.pos, kind);
    Ok(())
}

/// `text.starts_with(piece)`, where `head` is the piece's first 16 bytes
/// zero padded ([`head_of`]): pieces of up to 16 bytes (nearly all: a
/// comma and a key) are compared in one go instead of by a call.
#[inline]
fn starts_with(text: &[u8], piece: &[u8], head: u128) -> bool {
    let n = piece.len();
    match text.first_chunk::<16>() {
        Some(window) if n <= 16 => {
            let mask = if n == 16 {
                u128::MAX
            } else {
                (1u128 << (8 * n)) - 1
            };
            (u128::from_le_bytes(*window) ^ head) & mask == 0
        }
        _ => text.starts_with(piece),
    }
}

/// The first 16 bytes of `piece`, zero padded, as [`starts_with`] takes them.
fn head_of(piece: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    let n = piece.len().min(16);
    bytes[..n].copy_from_slice(&piece[..n]);
    u128::from_le_bytes(bytes)
}

/// One leaf of `kind` at the cursor, checked.
#[inline]
fn read_leaf<'a>(scanner: &mut Scanner<'a>, kind: LeafKind) -> Result<Leaf<'a>, ScanError> {
    let next = scanner.bytes.get(scanner.pos).copied();
    Ok(match (kind, next) {
        (LeafKind::Number, Some(b'-' | b'0'..=b'9')) => Leaf::Number(scanner.number()?),
        (LeafKind::String, Some(b'"')) => {
            let (raw, escaped) = scanner.string_at_quote()?;
            Leaf::String(raw, escaped)
        }
        (LeafKind::Bool, Some(b't')) => {
            scanner.literal(b"true")?;
            Leaf::Bool(true)
        }
        (LeafKind::Bool, Some(b'f')) => {
            scanner.literal(b"false")?;
            Leaf::Bool(false)
        }
        (LeafKind::Null, Some(b'n')) => {
            scanner.literal(b"null")?;
            Leaf::Null
        }
        _ => return Err(scanner.error("a leaf of another kind")),
    })
}

/// One leaf of `kind` at the cursor, checked but not converted.
#[inline]
fn check_leaf(scanner: &mut Scanner<'_>, kind: LeafKind) -> Result<(), ScanError> {
    let next = scanner.bytes.get(scanner.pos).copied();
    match (kind, next) {
        (LeafKind::Number, Some(b'-' | b'0'..=b'9')) => scanner.number_parts::<false>().map(|_| ()),
        (LeafKind::String, Some(b'"')) => scanner.string_at_quote().map(|_| ()),
        (LeafKind::Bool, Some(b't')) => scanner.literal(b"true"),
        (LeafKind::Bool, Some(b'f')) => scanner.literal(b"false"),
        (LeafKind::Null, Some(b'n')) => scanner.literal(b"null"),
        _ => Err(scanner.error("a leaf of another kind")),
    }
}

/// Records a shape while a value is walked: the walker reports where each
/// leaf starts and ends; the text between is kept.
#[derive(Debug, Default)]
pub struct ShapeBuilder {
    shape: Shape,
    /// Where the text after the last recorded leaf starts.
    after_last: usize,
    /// False once a limit was passed: no shape is made.
    fits: bool,
}

impl ShapeBuilder {
    /// A builder for one value.
    pub fn new() -> Self {
        Self {
            fits: true,
            ..Self::default()
        }
    }

    /// A leaf of `kind` spans `start..end` of `text` (the text being
    /// walked, the same for every call).
    pub fn leaf(&mut self, text: &str, start: usize, end: usize, kind: LeafKind) {
        if !self.fits {
            return;
        }
        let piece = text
            .as_bytes()
            .get(self.after_last..start)
            .unwrap_or_default();
        if self.shape.leaves.len() >= MAX_LEAVES || self.shape.text.len() + piece.len() > MAX_TEXT {
            self.fits = false;
            return;
        }
        self.shape.text.extend_from_slice(piece);
        self.shape.leaves.push((self.shape.text.len() as u32, kind));
        self.after_last = end;
    }

    /// Gives up: the value is not to have a shape.
    pub fn abandon(&mut self) {
        self.fits = false;
    }

    /// The shape of `text`, once its whole value has been walked; `None`
    /// when a limit was passed or the walk was abandoned.
    pub fn finish(mut self, text: &str) -> Option<Shape> {
        let tail = text.as_bytes().get(self.after_last..).unwrap_or_default();
        if !self.fits || self.shape.text.len() + tail.len() > MAX_TEXT {
            return None;
        }
        self.shape.text.extend_from_slice(tail);
        let mut start = 0;
        let ends = self.shape.leaves.iter().map(|(end, _)| *end as usize);
        for end in ends.chain([self.shape.text.len()]) {
            self.shape.heads.push(head_of(&self.shape.text[start..end]));
            start = end;
        }
        Some(self.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learn(text: &str) -> Shape {
        Shape::learn(text).expect("within limits")
    }

    fn read(shape: &Shape, text: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let fits = shape.read(text, |i, leaf| out.push(format!("{i}:{leaf:?}")));
        fits.then_some(out)
    }

    #[test]
    fn same_layout_other_values_fit() {
        let shape = learn(r#"{"s":"ACME","last":101.25,"ok":true,"n":null,"a":[1, 2]}"#);
        assert_eq!(shape.leaves(), 6);
        assert_eq!(
            read(
                &shape,
                r#"{"s":"HO\"OLI","last":-3e2,"ok":false,"n":null,"a":[0.5, 7]}"#
            ),
            Some(vec![
                r#"0:String("HO\\\"OLI", true)"#.to_owned(),
                "1:Number(-300.0)".into(),
                "2:Bool(false)".into(),
                "3:Null".into(),
                "4:Number(0.5)".into(),
                "5:Number(7.0)".into(),
            ])
        );
    }

    #[test]
    fn other_layouts_and_broken_values_miss() {
        let shape = learn(r#"{"a":1,"b":[2,3]}"#);
        for text in [
            r#"{"a":1,"b":[2,3,4]}"#, // another length
            r#"{"a":1,"c":[2,3]}"#,   // another key
            r#"{"a":"1","b":[2,3]}"#, // another kind
            r#"{"a":1 ,"b":[2,3]}"#,  // other spacing
            r#"{"a":01,"b":[2,3]}"#,  // not a JSON number
            r#"{"a":1.,"b":[2,3]}"#,  // not a JSON number
            r#"{"a":1,"b":[2,3]} "#,  // text after the value
            r#"{"a":1,"b":[2,3]"#,    // cut short
            r#"{"a":1,"b":[2,3e]}"#,  // broken exponent
            r#"{"a":-,"b":[2,3]}"#,   // a sign alone
            "",
        ] {
            assert_eq!(read(&shape, text), None, "{text}");
        }
        let shape = learn(r#"{"s":"x","t":true}"#);
        assert_eq!(read(&shape, "{\"s\":\"a\u{1}\",\"t\":true}"), None);
        assert_eq!(read(&shape, r#"{"s":"a\q","t":true}"#), None);
        assert_eq!(read(&shape, r#"{"s":"a","t":tru}"#), None);
        assert_eq!(read(&shape, r#"{"s":"a","t":nul}"#), None);
    }

    #[test]
    fn short_pieces_compare_like_starts_with() {
        let text = b"{\"symbol\":\"ACME\",\"last\":1}";
        for end in 0..=text.len() {
            for start in 0..end {
                let piece = &text[start..end];
                for at in 0..text.len() {
                    assert_eq!(
                        starts_with(&text[at..], piece, head_of(piece)),
                        text[at..].starts_with(piece),
                        "{at} {start}..{end}"
                    );
                }
            }
        }
    }

    #[test]
    fn scalars_and_empty_containers_have_shapes() {
        assert_eq!(
            read(&learn("42"), "-1.5"),
            Some(vec!["0:Number(-1.5)".into()])
        );
        assert_eq!(read(&learn("{}"), "{}"), Some(vec![]));
        assert_eq!(read(&learn("{}"), "[]"), None);
    }

    #[test]
    fn limits_give_no_shape() {
        let many = format!("[{}]", vec!["1"; MAX_LEAVES + 1].join(","));
        let mut builder = ShapeBuilder::new();
        for i in 0..=MAX_LEAVES {
            let at = 1 + 2 * i;
            builder.leaf(&many, at, at + 1, LeafKind::Number);
        }
        assert_eq!(builder.finish(&many), None);
        let long_key = format!(r#"{{"{}":1}}"#, "k".repeat(MAX_TEXT));
        let mut builder = ShapeBuilder::new();
        let at = long_key.find(':').expect("colon") + 1;
        builder.leaf(&long_key, at, at + 1, LeafKind::Number);
        assert_eq!(builder.finish(&long_key), None);
    }

    proptest::proptest! {
        /// Text that fits a shape is valid JSON: the shape of a generated
        /// value, read against one-byte mutations of its text, fits only
        /// where `serde_json` accepts.
        #[test]
        fn fitting_text_is_valid_json(
            value in crate::json::tests::json_value(),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::sample::select(b"{}[],:\"\\ 0-.eEtfn\x01".to_vec()),
        ) {
            let text = serde_json::to_string(&value).expect("serializable");
            let shape = learn(&text);
            let mut count = 0;
            proptest::prop_assert!(shape.read(&text, |_, _| count += 1));
            proptest::prop_assert_eq!(count, shape.leaves());
            let at = cut.index(text.len() + 1);
            let variants = crate::json::tests::one_byte_mutations(&text, at, byte);
            for variant in variants {
                let Ok(v) = std::str::from_utf8(&variant) else { continue };
                let fits = shape.read(v, |_, _| {});
                if fits {
                    proptest::prop_assert!(crate::json::tests::serde_valid(v), "{}", v);
                }
                // Checking inside a list gives the same answer, and the end.
                let listed = format!("[{v},0]");
                let end = shape.check(&listed, 1);
                if fits {
                    proptest::prop_assert_eq!(end, Some(v.len() + 1));
                }
                if let Some(end) = end {
                    proptest::prop_assert!(crate::json::tests::serde_valid(&listed[1..end]), "{}", listed);
                }
            }
        }
    }
}
