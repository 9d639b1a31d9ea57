"""The helpers against PyTorch itself: mixed_cross_entropy is λ·CE(a) +
(1−λ)·CE(b) with F.cross_entropy's label smoothing (timm's targets), and
channel_statistics is the subset's per-channel population mean and std."""

import pytest
import torch
import torch.nn.functional as F

import augkit


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_mixed_cross_entropy_is_torchs(smoothing):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(13, 7, generator=g)
    y_a = torch.randint(0, 7, (13,), generator=g)
    y_b = torch.randint(0, 7, (13,), generator=g)
    lam = torch.rand(13, generator=g)
    ce = lambda y: F.cross_entropy(logits, y, reduction="none", label_smoothing=smoothing)
    want = lam * ce(y_a) + (1 - lam) * ce(y_b)
    got = augkit.mixed_cross_entropy(logits, y_a, y_b, lam, label_smoothing=smoothing, reduction="none")
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(augkit.mixed_cross_entropy(logits, y_a, y_b, lam, smoothing), want.mean())
    with pytest.raises(ValueError, match="reduction"):
        augkit.mixed_cross_entropy(logits, y_a, y_b, lam, reduction="max")


def test_channel_statistics_is_the_population_mean_and_std(data):
    images, labels = data
    subset = [0, 3, 4, 10, 36]
    mean, std = augkit.channel_statistics(images, subset)
    x = images[subset].double() / 255
    torch.testing.assert_close(torch.tensor(mean), x.mean(dim=(0, 2, 3)).float(), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.tensor(std), x.std(dim=(0, 2, 3), unbiased=False).float(), atol=1e-6, rtol=0)
    # A constant channel's deviation becomes 1.
    flat = torch.full((4, 1, 5, 6), 17, dtype=torch.uint8)
    assert augkit.channel_statistics(flat) == ([pytest.approx(17 / 255)], [1.0])
    # What Augmenter(normalise=True) fills into a policy that sets neither.
    aug = augkit.Augmenter("horizontal_flip = 0.5\n", images, labels, subset=subset)
    assert aug.normalisation == (mean, std)
