"""augkit.from_torchvision / to_torchvision: every refusal path raises its
typed error (UnsupportedTransformError, NotEquivalentError; both are
TorchvisionConversionError and ValueError) with a message naming the
offending transform; the accepted reorderings (docs/PYTHON.md) convert; and
every shipped technique policy in harness/policies/ that has a torchvision
form survives from_torchvision(to_torchvision(p)) as augkit reads it (the
policy as it runs, `Augmenter.policy_toml`). Pure Python plus one small
CPU Augmenter per policy: seconds."""

import pathlib

import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import v2

import augkit
from augkit import NotEquivalentError, TorchvisionConversionError, UnsupportedTransformError

from conftest import POLICIES

FLOAT = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]


def refused(error, transform, *names, **kw):
    with pytest.raises(error) as e:
        augkit.from_torchvision(transform, **kw)
    assert isinstance(e.value, TorchvisionConversionError) and isinstance(e.value, ValueError)
    for name in names:
        assert name in str(e.value), f"{name!r} not named in: {e.value}"
        assert any(name in t for t in e.value.transforms), e.value.transforms
    return str(e.value)


def test_unsupported_transforms_are_listed_all_at_once():
    def my_transform(img):
        return img

    t = v2.Compose([
        v2.GaussianBlur(3), *FLOAT, v2.RandomApply([v2.ElasticTransform()], p=0.3),
        v2.Compose([v2.Grayscale(), v2.RandomPerspective()]), v2.Lambda(lambda x: x), my_transform,
        v2.RandomPosterize(4), v2.AutoAugment(),
    ])
    msg = refused(UnsupportedTransformError, t, "GaussianBlur", "ElasticTransform", "Grayscale",
                  "RandomPerspective", "Lambda", "my_transform", "RandomPosterize", "AutoAugment")
    assert "8 transform(s)" in msg


def test_torchvision_v1_transforms_point_to_v2():
    import torchvision.transforms as v1

    msg = refused(UnsupportedTransformError, v1.Compose([v1.RandomHorizontalFlip(), v1.ToTensor()]),
                  "RandomHorizontalFlip", "ToTensor")
    assert "use torchvision.transforms.v2" in msg


def test_timm_transforms_are_unsupported():
    from timm.data import create_transform

    t = create_transform(32, is_training=True, auto_augment="rand-m9-mstd0.5-inc1")
    refused(UnsupportedTransformError, t, "RandomResizedCropAndInterpolation", "RandAugment")


@pytest.mark.parametrize(
    "transform,name,reason",
    [
        # Order: augkit runs geometry before colour, auto ops before jitter.
        (v2.Compose([*FLOAT, v2.ColorJitter(0.4), v2.RandomCrop(32, padding=4)]), "RandomCrop", "comes after ColorJitter"),
        (v2.Compose([*FLOAT, v2.ColorJitter(0.4), v2.TrivialAugmentWide()]), "TrivialAugmentWide", "comes after ColorJitter"),
        (v2.Compose([*FLOAT, v2.RandomAffine(10), v2.RandomCrop(32, padding=4)]), "RandomCrop", "comes after RandomAffine"),
        (v2.Compose([*FLOAT, v2.TrivialAugmentWide(), v2.RandomHorizontalFlip()]), "RandomHorizontalFlip",
         "comes after TrivialAugmentWide"),
        (v2.Compose([*FLOAT, v2.RandomAffine((5, 20)), v2.RandomHorizontalFlip()]), "RandomHorizontalFlip", "not symmetric"),
        (v2.Compose([*FLOAT, v2.RandomHorizontalFlip(), v2.RandomResizedCrop(32, interpolation=InterpolationMode.NEAREST)]),
         "RandomResizedCrop", "nearest resize"),
        (v2.Compose([*FLOAT, v2.Normalize([0.5] * 3, [0.2] * 3), v2.ColorJitter(0.4)]), "ColorJitter", "after Normalize"),
        (v2.Compose([*FLOAT, v2.RandomErasing(), v2.RandomCrop(32, padding=4)]), "RandomCrop", "comes after RandomErasing"),
        # uint8 path: torchvision rounds after each op, augkit does not.
        (v2.Compose([v2.ToImage(), v2.ColorJitter(0.4), v2.ToDtype(torch.float32, scale=True)]), "ColorJitter", "uint8"),
        (v2.Compose([v2.ToImage(), v2.TrivialAugmentWide(), v2.ToDtype(torch.float32, scale=True)]), "TrivialAugmentWide",
         "uint8"),
        (v2.Compose([v2.RandomResizedCrop(32), *FLOAT]), "RandomResizedCrop", "uint8"),
        (v2.Compose([v2.RandomAffine(10, interpolation=InterpolationMode.BILINEAR), *FLOAT]), "RandomAffine", "uint8"),
        # Parameters without an augkit counterpart.
        (v2.Compose([*FLOAT, v2.RandomAffine(10, shear=5)]), "RandomAffine", "shear"),
        (v2.Compose([*FLOAT, v2.RandomAffine(10, center=[3, 3])]), "RandomAffine", "center"),
        (v2.Compose([*FLOAT, v2.RandomAffine(10, fill=(0.1, 0.2, 0.3))]), "RandomAffine", "per-channel fill"),
        (v2.Compose([*FLOAT, v2.RandomAffine(10, interpolation=InterpolationMode.BICUBIC)]), "RandomAffine", "interpolation"),
        (v2.Compose([*FLOAT, v2.RandomAffine(10, interpolation=InterpolationMode.BILINEAR, fill=None)]), "RandomAffine",
         "fill=None"),
        (v2.Compose([*FLOAT, v2.RandomRotation(10, expand=True)]), "RandomRotation", "expand"),
        (v2.Compose([v2.RandomCrop(32, padding=(2, 4)), *FLOAT]), "RandomCrop", "every side"),
        (v2.Compose([v2.RandomCrop(32, padding=4, padding_mode="reflect"), *FLOAT]), "RandomCrop", "padding_mode"),
        (v2.Compose([v2.RandomCrop(32, padding=4, fill=9), *FLOAT]), "RandomCrop", "fill"),
        (v2.Compose([v2.RandomCrop(28, padding=4), *FLOAT]), "RandomCrop", "crops to (28, 28)"),
        (v2.Compose([*FLOAT, v2.RandomResizedCrop(24)]), "RandomResizedCrop", "crops to (24, 24)"),
        (v2.Compose([*FLOAT, v2.RandAugment(num_ops=3)]), "RandAugment", "num_ops=3"),
        (v2.Compose([*FLOAT, v2.RandomApply([v2.TrivialAugmentWide()], p=0.5)]), "TrivialAugmentWide", "RandomApply"),
        (v2.Compose([*FLOAT, v2.TrivialAugmentWide(), v2.RandAugment()]), "RandAugment", "second auto-augment"),
        (v2.Compose([*FLOAT, v2.RandomHorizontalFlip(), v2.RandomHorizontalFlip()]), "RandomHorizontalFlip", "second"),
        (v2.Compose([*FLOAT, v2.RandomApply([v2.ColorJitter(0.4), v2.RandomAffine(10)], p=0.8)]), "RandomApply", "one coin"),
        (v2.Compose([*FLOAT, v2.RandomChoice([v2.RandomHorizontalFlip(1.0), v2.RandomVerticalFlip(1.0)])]), "RandomChoice",
         "no choice"),
        (v2.Compose([*FLOAT, v2.RandomApply([v2.Normalize([0.5] * 3, [0.2] * 3)], p=0.5)]), "Normalize", "RandomApply"),
        (v2.Compose([v2.RandomCrop(32), *FLOAT]), None, None),
        (v2.Compose([*FLOAT, v2.MixUp(num_classes=10)]), "MixUp", "mix="),
        (v2.Compose([*FLOAT, v2.RandomChoice([v2.MixUp(num_classes=10), v2.CutMix(num_classes=10)])]), "RandomChoice",
         "mix="),
        # Erasing and the output stage.
        (v2.Compose([*FLOAT, v2.RandomErasing(value="random"), v2.Normalize([0.5] * 3, [0.2] * 3)]), "RandomErasing",
         "value='random' before Normalize"),
        (v2.Compose([*FLOAT, v2.RandomErasing(value=0), v2.Normalize([0.5, 0.4, 0.3], [0.2] * 3)]), "RandomErasing",
         "before Normalize"),
        (v2.Compose([*FLOAT, v2.Normalize([0.5] * 3, [0.2] * 3), v2.RandomErasing(value=(0.1, 0.2, 0.3))]), "RandomErasing",
         "one value"),
        (v2.Compose([v2.ToImage(), v2.RandomHorizontalFlip()]), "ToDtype", "uint8 images"),
        (v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32)]), "ToDtype", "scale=True"),
        (v2.Compose([v2.ToImage(), v2.ToDtype(torch.float16, scale=True)]), "ToDtype", "float32"),
        (v2.Compose([*FLOAT, v2.ToDtype(torch.float64)]), "ToDtype", "float64"),
        (v2.Compose([v2.ToImage(), v2.Normalize([0.5] * 3, [0.2] * 3), v2.ToDtype(torch.float32, scale=True)]), "Normalize",
         "before ToDtype"),
        (v2.Compose([*FLOAT, v2.Normalize([0.5] * 2, [0.2] * 2)]), "Normalize", "3-channel"),
        (v2.Compose([*FLOAT, v2.Normalize([0.5] * 3, [0.2] * 3), v2.Normalize([0.5] * 3, [0.2] * 3)]), "Normalize",
         "second Normalize"),
        (v2.Compose([*FLOAT, v2.ToDtype(torch.float16), v2.ToDtype(torch.bfloat16)]), "ToDtype", "second conversion"),
        (v2.Compose([*FLOAT, v2.ToDtype(torch.float16), v2.RandomHorizontalFlip()]), "RandomHorizontalFlip",
         "final ToDtype"),
        (v2.Compose([*FLOAT, v2.ToDtype(torch.float16), v2.RandomErasing()]), "RandomErasing", "final ToDtype"),
        (v2.Compose([v2.ToImage(), v2.RandomApply([v2.ToDtype(torch.float32, scale=True)], p=0.5)]), "ToDtype",
         "RandomApply"),
        (v2.Compose([v2.ToImage(), v2.RandomErasing(value="random"), v2.ToDtype(torch.float32, scale=True)]),
         "RandomErasing", "uint8"),
        (v2.Compose([*FLOAT, v2.RandomAffine(10, interpolation=InterpolationMode.NEAREST_EXACT)]), "RandomAffine",
         "NEAREST_EXACT"),
        (v2.Compose([*FLOAT, v2.TrivialAugmentWide(interpolation=InterpolationMode.BILINEAR, fill=None)]),
         "TrivialAugmentWide", "fill=None"),
        (v2.Compose([*FLOAT, v2.ToDtype(torch.float16), v2.Normalize([0.5] * 3, [0.2] * 3)]), "Normalize", "float32"),
    ],
)
def test_not_equivalent(transform, name, reason):
    if name is None:
        # RandomCrop(32) on 32×32 images is the identity: converted, not refused.
        assert augkit.from_torchvision(transform, image_shape=(3, 32, 32)) == {}
        with pytest.raises(NotEquivalentError, match="without padding"):
            augkit.from_torchvision(transform)
        return
    msg = refused(NotEquivalentError, transform, name, image_shape=(3, 32, 32))
    assert reason in msg, msg


def test_uint8_rounding_is_accepted_only_when_asked():
    t = v2.Compose([v2.RandomResizedCrop(32), v2.TrivialAugmentWide(), v2.ColorJitter(0.2), *FLOAT])
    policy = augkit.from_torchvision(t, allow_uint8_rounding=True)
    assert set(policy) == {"crop", "trivial_augment", "color_jitter"}


def test_accepted_reorderings():
    # Flips commute with the pad crop, a bilinear resized crop, a symmetric
    # affine, colour jitter, Normalize and erasing (docs/PYTHON.md).
    t = v2.Compose([
        v2.RandomHorizontalFlip(), *FLOAT, v2.RandomVerticalFlip(0.2), v2.RandomResizedCrop(32),
        v2.RandomAffine(10), v2.ColorJitter(0.3), v2.Normalize([0.5] * 3, [0.2] * 3), v2.RandomErasing(),
    ])
    policy = augkit.from_torchvision(t, image_shape=(3, 32, 32))
    assert policy["horizontal_flip"] == 0.5 and policy["vertical_flip"] == 0.2
    t = v2.Compose([*FLOAT, v2.RandomAffine(10), v2.ColorJitter(0.3), v2.Normalize([0.5] * 3, [0.2] * 3),
                    v2.RandomErasing(), v2.RandomHorizontalFlip(), v2.ToDtype(torch.bfloat16)])
    policy = augkit.from_torchvision(t, image_shape=(3, 32, 32))
    assert policy["horizontal_flip"] == 0.5 and policy["output"]["dtype"] == "bf16"


def test_mix_refusals():
    from timm.data import Mixup

    with pytest.raises(UnsupportedTransformError, match="ColorJitter"):
        augkit.from_torchvision(v2.Compose(FLOAT), v2.ColorJitter(0.2))
    with pytest.raises(NotEquivalentError, match="cutmix_minmax"):
        augkit.from_torchvision(v2.Compose(FLOAT), Mixup(cutmix_minmax=(0.2, 0.8)))
    with pytest.raises(NotEquivalentError, match="two MixUp"):
        augkit.from_torchvision(v2.Compose(FLOAT), v2.RandomChoice([v2.MixUp(), v2.MixUp()]))
    with pytest.raises(ValueError, match="mix_mode"):
        augkit.from_torchvision(v2.Compose(FLOAT), v2.MixUp(), mix_mode="sample")


def test_augmenter_refuses_before_opening_a_backend():
    imgs = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(UnsupportedTransformError, match="GaussianBlur"):
        augkit.Augmenter(v2.Compose([v2.GaussianBlur(3), *FLOAT]), imgs, [0, 1, 0, 1], backend="cpu")
    with pytest.raises(NotEquivalentError, match=r"crops to \(32, 32\) but the images are \(8, 8\)"):
        augkit.Augmenter(v2.Compose([v2.RandomCrop(32, padding=4), *FLOAT]), imgs, [0, 1, 0, 1], backend="cpu")


# --- to_torchvision and the round trip ---------------------------------------------------------

# Shipped policies with no torchvision form, and why.
NO_TORCHVISION_FORM = {
    "synthetic.toml": "synthetic",  # samples generated from a per-class PCA model of the training set
    "synthetic-cvae.toml": "synthetic",  # a pool sampled from a generator fitted on the training set
}


def as_augkit_reads_it(policy):
    imgs = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    return augkit.Augmenter(policy, imgs, [0, 1, 2, 3], num_classes=10, backend="cpu", normalise=False).policy_toml


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")), ids=lambda p: p.name)
def test_round_trip_of_the_shipped_policies(path: pathlib.Path):
    if path.name in NO_TORCHVISION_FORM:
        with pytest.raises(NotEquivalentError) as e:
            augkit.to_torchvision(path, image_size=(32, 32), num_classes=10)
        assert NO_TORCHVISION_FORM[path.name] in e.value.transforms
        return
    transform, mix = augkit.to_torchvision(path, image_size=(32, 32), num_classes=10)
    back = augkit.from_torchvision(transform, mix, image_shape=(3, 32, 32))
    assert as_augkit_reads_it(back) == as_augkit_reads_it(path)


def test_every_shipped_policy_is_covered():
    names = {p.name for p in POLICIES.glob("*.toml")}
    assert set(NO_TORCHVISION_FORM) <= names
    assert len(names - set(NO_TORCHVISION_FORM)) >= 10


def test_to_torchvision_forms():
    t, mix = augkit.to_torchvision({"crop": {"kind": "resized", "interpolation": "nearest", "p": 0.5},
                                    "affine": {"degrees": [5, 20], "scale": [0.9, 1.1]},
                                    "output": {"mean": [0.5] * 3, "std": [0.2] * 3, "dtype": "f16"},
                                    "erasing": {"mode": "pixel"},
                                    "mix": {"mixup_alpha": 0.2, "mode": "batch"}},
                                   image_size=(32, 32), num_classes=10)
    kinds = [type(s).__name__ for s in t.transforms]
    assert kinds == ["ToImage", "ToDtype", "RandomApply", "RandomAffine", "Normalize", "RandomErasing", "ToDtype"]
    assert list(t.transforms[3].degrees) == [-20.0, -5.0], "F.affine turns clockwise"
    assert isinstance(mix, v2.MixUp) and mix.alpha == pytest.approx(0.2)
    out = t(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))
    assert out.shape == (3, 32, 32) and out.dtype == torch.float16
    back = augkit.from_torchvision(t, mix, image_shape=(3, 32, 32))
    assert as_augkit_reads_it(back) == as_augkit_reads_it({"crop": {"kind": "resized", "interpolation": "nearest",
                                                                    "p": 0.5},
                                                           "affine": {"degrees": [5, 20], "scale": [0.9, 1.1]},
                                                           "output": {"mean": [0.5] * 3, "std": [0.2] * 3,
                                                                      "dtype": "f16"},
                                                           "erasing": {"mode": "pixel"},
                                                           "mix": {"mixup_alpha": 0.2, "mode": "batch"}})


@pytest.mark.parametrize(
    "policy,section",
    [
        ({"synthetic": {}}, "synthetic"),
        ({"color_jitter": {"brightness": 0.2, "contrast_mean": "source"}}, "color_jitter"),
        ({"affine": {"degrees": 5, "translate": [0.1, 0.1], "translate_mode": "continuous"}}, "affine"),
        ({"erasing": {"count": [1, 3]}}, "erasing"),
        ({"erasing": {"mode": "channel"}}, "erasing"),
        ({"trivial_augment": {"wide": False}}, "trivial_augment"),
        ({"output": {"layout": "nhwc"}}, "output"),
    ],
)
def test_to_torchvision_refusals(policy, section):
    with pytest.raises(NotEquivalentError) as e:
        augkit.to_torchvision(policy, image_size=(32, 32), num_classes=10)
    assert section in e.value.transforms and f"[{section}]" in str(e.value)


def test_to_torchvision_needs_sizes_it_cannot_guess():
    with pytest.raises(TypeError, match="image_size"):
        augkit.to_torchvision({"crop": {"kind": "pad", "padding": 4}})
    with pytest.raises(TypeError, match="num_classes"):
        augkit.to_torchvision({"mix": {"cutmix_alpha": 1.0}})
