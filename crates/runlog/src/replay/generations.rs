//! The generations' part of a replay: compacted records and points, read
//! before the live segments, one generation mapped at a time.

use crate::error::{StorageError, StorageResult};
use crate::layout::generation_path;
use crate::log::generation::{Generation, GenerationItem, ItemCursor};

use super::{Event, Position, Replay, Replayed};

/// A generation of a replay: not opened yet, open, or read.
pub(super) enum GenerationSlot {
    Waiting(u64),
    Open(Generation),
    Read,
}

impl Replay {
    /// Counts a generation's damage in the summary and hands the error back.
    fn record_generation_damage(&mut self, e: StorageError) -> StorageError {
        self.summary.corrupt.extend(e.damage().cloned());
        e
    }

    /// The next event of the generations, if any is left.
    pub(super) fn next_from_generations(&mut self) -> Option<StorageResult<Replayed>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Some(Ok(r));
            }
            let at = self.generation_at;
            if let GenerationSlot::Waiting(number) = self.generations.get(at)? {
                let number = *number;
                match Generation::open(&generation_path(&self.path, number), number) {
                    Ok(g) => {
                        let header_damage = g.header_damage();
                        self.generations[at] = GenerationSlot::Open(g);
                        if let Some(e) = header_damage {
                            // Reported; its entries are read all the same.
                            return Some(Err(self.record_generation_damage(e)));
                        }
                    }
                    Err(e) => {
                        self.generations[at] = GenerationSlot::Read;
                        return Some(Err(self.record_generation_damage(e)));
                    }
                }
            }
            let GenerationSlot::Open(g) = &self.generations[at] else {
                self.generation_at += 1;
                continue;
            };
            let number = g.number();
            let item = match g.next_item(&mut self.item_cursor) {
                None => {
                    self.generations[at] = GenerationSlot::Read; // unmap it
                    self.generation_at += 1;
                    self.item_cursor = ItemCursor::default();
                    continue;
                }
                Some(Err(e)) => {
                    self.summary.corrupt.extend(e.damage().cloned());
                    return Some(Err(e));
                }
                Some(Ok(item)) => item,
            };
            self.summary.entries += 1;
            let (offset, item) = item;
            let position = Position {
                lane: 0,
                segment: number,
                offset,
            };
            match item {
                // Summaries of the chunk before, whose points replay whole.
                GenerationItem::Blocks(_) => continue,
                GenerationItem::Record(r) => {
                    return Some(Ok(Replayed {
                        position,
                        event: Event::Record(r.to_owned_record()),
                    }))
                }
                GenerationItem::Chunk(header, _) if self.latest_only => {
                    return Some(Ok(Replayed {
                        position,
                        event: Event::Metric {
                            run_id: header.run_id,
                            key: header.key,
                            value: header.latest.value,
                            timestamp: header.latest.timestamp,
                            step: header.latest.step,
                        },
                    }))
                }
                GenerationItem::Chunk(header, bytes) => match g.decode_chunk(offset, bytes) {
                    Ok(points) => {
                        self.pending.extend(points.into_iter().map(|m| Replayed {
                            position,
                            event: Event::Metric {
                                run_id: header.run_id.clone(),
                                key: header.key.clone(),
                                value: m.value,
                                timestamp: m.timestamp,
                                step: m.step,
                            },
                        }));
                    }
                    Err(e) => return Some(Err(e)),
                },
            }
        }
    }
}
