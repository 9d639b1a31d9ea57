//! The resident data, uploaded once: the dataset packed into chunk
//! bindings, the meta words (index list, labels, gray means, synthetic
//! tables), and their description for the kernels (`Resident`).

use ::wgpu as wg;
use bytemuck::{Pod, Zeroable};
use wg::util::DeviceExt;

use super::DATA_BINDINGS;
use crate::backend::Plan;
use crate::error::Error;
use crate::synthetic::SynthTables;

/// Where the resident data lives, for the kernels (mirrored in the WGSL as
/// `Resident`; uploaded once).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Resident {
    pub images: u32,
    /// C·H·W.
    pub image_elems: u32,
    /// Word offsets in the meta buffer (the subset starts at 0).
    pub labels_at: u32,
    pub means_at: u32,
    /// u32 words per dataset chunk binding.
    pub chunk_words: u32,
    pub chunks: u32,
    /// Classes with an image in the subset (synthetic samples).
    pub synth_present: u32,
    /// Word offsets in the meta buffer of the synthetic tables (0 when the
    /// policy has none): present classes, class offsets, class members, and
    /// the PCA model as f32 bits (means, basis, sigmas, class gray means).
    pub synth_present_at: u32,
    pub synth_offsets_at: u32,
    pub synth_members_at: u32,
    pub synth_means_at: u32,
    pub synth_basis_at: u32,
    pub synth_sigmas_at: u32,
    pub synth_gray_at: u32,
    pub _pad: [u32; 2],
}

/// Appends the synthetic tables to the meta words and records where each
/// starts.
fn append_synth_tables(meta: &mut Vec<u32>, tables: &SynthTables, resident: &mut Resident) {
    let mut put = |words: &[u32]| {
        let at = meta.len() as u32;
        meta.extend_from_slice(words);
        at
    };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    resident.synth_present = tables.present_classes.len() as u32;
    resident.synth_present_at = put(&tables.present_classes);
    resident.synth_offsets_at = put(&tables.class_offsets);
    resident.synth_members_at = put(&tables.class_members);
    resident.synth_means_at = put(&bits(&tables.means));
    resident.synth_basis_at = put(&bits(&tables.basis));
    resident.synth_sigmas_at = put(&bits(&tables.sigmas));
    resident.synth_gray_at = put(&bits(&tables.class_gray_means));
}

/// The u8 dataset packed four bytes to a u32 word (little-endian) and
/// uploaded in bindings of `chunk_words` words, the unused ones of the
/// shader's `DATA_BINDINGS` bound to a small placeholder; and how many
/// chunks hold data.
pub(super) fn upload_dataset(
    device: &wg::Device,
    pixels: &[u8],
    chunk_words: u64,
) -> Result<(Vec<wg::Buffer>, u64), Error> {
    if pixels.len() as u64 >= 1 << 32 {
        return Err(Error::TooLarge {
            what: "the dataset (u32 byte addressing)",
            bytes: pixels.len() as u64,
            limit: (1 << 32) - 1,
        });
    }
    let mut words = vec![0u32; pixels.len().div_ceil(4)];
    for (w, bytes) in words.iter_mut().zip(pixels.chunks(4)) {
        let mut b = [0u8; 4];
        b[..bytes.len()].copy_from_slice(bytes);
        *w = u32::from_le_bytes(b);
    }
    let chunks = (words.len() as u64).div_ceil(chunk_words);
    if chunks > DATA_BINDINGS as u64 {
        return Err(Error::TooLarge {
            what: "the dataset",
            bytes: pixels.len() as u64,
            limit: DATA_BINDINGS as u64 * chunk_words * 4,
        });
    }
    let mut data_bufs: Vec<wg::Buffer> = words
        .chunks(chunk_words as usize)
        .enumerate()
        .map(|(i, chunk)| {
            device.create_buffer_init(&wg::util::BufferInitDescriptor {
                label: Some(&format!("augkit dataset chunk {i}")),
                contents: bytemuck::cast_slice(chunk),
                usage: wg::BufferUsages::STORAGE,
            })
        })
        .collect();
    while data_bufs.len() < DATA_BINDINGS {
        data_bufs.push(device.create_buffer(&wg::BufferDescriptor {
            label: Some("augkit dataset (unused binding)"),
            size: 16,
            usage: wg::BufferUsages::STORAGE,
            mapped_at_creation: false,
        }));
    }
    Ok((data_bufs, chunks))
}

/// The meta binding's words — [subset | labels | gray means as f32 bits |
/// synthetic tables] — and the [`Resident`] that says where each part
/// lives; an error when they exceed one binding of `binding` bytes.
pub(super) fn resident_meta(
    plan: &Plan,
    chunk_words: u64,
    chunks: u64,
    binding: u64,
) -> Result<(Vec<u32>, Resident), Error> {
    let subset_len = plan.subset.len() as u32;
    let dataset = &plan.dataset;
    let labels = dataset.labels();
    let mut meta: Vec<u32> = Vec::with_capacity(plan.subset.len() + 2 * labels.len());
    meta.extend_from_slice(&plan.subset);
    meta.extend_from_slice(labels);
    meta.extend(dataset.gray_means().iter().map(|m| m.to_bits()));
    let mut resident = Resident {
        images: labels.len() as u32,
        image_elems: dataset.shape().elements() as u32,
        labels_at: subset_len,
        means_at: subset_len + labels.len() as u32,
        chunk_words: chunk_words.min(u64::from(u32::MAX)) as u32,
        chunks: chunks as u32,
        ..Resident::default()
    };
    // The synthetic tables ride in the same binding (no extra storage
    // buffer: the shader stays within WebGPU's 8 per stage).
    if let Some(tables) = &plan.synth {
        let words = tables.present_classes.len()
            + tables.class_offsets.len()
            + tables.class_members.len()
            + tables.means.len()
            + tables.basis.len()
            + tables.sigmas.len()
            + tables.class_gray_means.len();
        let bytes = (meta.len() + words) as u64 * 4;
        if bytes > binding {
            return Err(Error::TooLarge {
                what: "the index list, labels, gray means and synthetic model",
                bytes,
                limit: binding,
            });
        }
        append_synth_tables(&mut meta, tables, &mut resident);
    }
    let meta_bytes = meta.len() as u64 * 4;
    if meta_bytes > binding {
        return Err(Error::TooLarge {
            what: "the index list, labels and gray means",
            bytes: meta_bytes,
            limit: binding,
        });
    }
    Ok((meta, resident))
}
