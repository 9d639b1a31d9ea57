//! The resident data's description for the kernels: where the dataset
//! chunks, index list, labels, gray means and synthetic tables live in the
//! buffers uploaded once.

use bytemuck::{Pod, Zeroable};

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
pub(super) fn append_synth_tables(
    meta: &mut Vec<u32>,
    tables: &SynthTables,
    resident: &mut Resident,
) {
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
