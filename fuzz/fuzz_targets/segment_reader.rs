//! Arbitrary bytes as a segment: the scanner and the decoder must never
//! panic, must account for every byte exactly once, and every entry they
//! accept must re-encode to the very bytes it was read from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runlog::format::SEGMENT_HEADER_LEN;
use runlog::log::{ScanItem, SegmentScan};

fuzz_target!(|data: &[u8]| {
    // Put a valid header in front half of the time, so the scanner reaches
    // the entries; the header checks are covered by unit tests.
    let mut with_header = runlog::format::SegmentHeader { version: 1, lane: 1, sequence: 1 }
        .encode()
        .to_vec();
    with_header.extend_from_slice(data);
    for bytes in [data, &with_header[..]] {
        let _ = runlog::format::SegmentHeader::decode(bytes);
        let mut scan = SegmentScan::new(bytes);
        let mut expected_pos = SEGMENT_HEADER_LEN.min(bytes.len()) as u64;
        while let Some(item) = scan.next() {
            let (offset, end) = match &item {
                ScanItem::Entry { offset, entry } => {
                    let end = scan.position() as u64;
                    let mut again = Vec::new();
                    entry.encode(&mut again).expect("an accepted entry re-encodes");
                    assert_eq!(&bytes[*offset as usize..end as usize], &again[..]);
                    (*offset, end)
                }
                ScanItem::Corrupt { offset, len } => (*offset, offset + len),
                ScanItem::Torn { offset, len, entries } => {
                    assert!(*entries >= 1);
                    (*offset, offset + len)
                }
            };
            assert_eq!(offset, expected_pos, "every byte is classified once, in order");
            assert!(end > offset);
            expected_pos = end;
        }
        assert_eq!(expected_pos, bytes.len() as u64);
    }
});
