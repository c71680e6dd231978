"""`BridgeConfig`: the [bridge] table of a bridged run (the dense model, bridge shape, loss coefficients)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sparsecircuits import config as conf

if TYPE_CHECKING:
    from sparsecircuits.train.config import RunConfig

BRIDGE_TABLE = "bridge"
BRIDGES_FILE = "bridges.safetensors"


@dataclass
class BridgeConfig:
    """How a sparse model is bridged to a frozen dense one; the loss is METHOD section 8's sum.

    loss = lm_coef * LM(sparse) + nmse_encoder_coef * mean_i NMSE(f_i(h_dense), h_sparse)
         + nmse_decoder_coef * mean_i NMSE(g_i(h_sparse), h_dense)
         + kl_dense_to_sparse_coef * KL(dense || dense prefix -> f_i -> sparse suffix)
         + kl_sparse_to_dense_coef * KL(dense || sparse prefix -> g_i -> dense suffix)
    """

    dense: str = ""  # the dense run folder (`--dense`); stored as an absolute path
    dense_weights_sha256: str = (
        ""  # filled in by the trainer: the dense weights it was trained with
    )
    final_residual: bool = True  # bridge the final residual too (before ln_f), not only 2 * n_layer
    encoder_afrac: float = 0.25  # AbsTopK of each encoder output keeps this fraction; 0 = off
    bias: bool = True  # encoders and decoders have a bias
    # Weights start as N(0, (gain / sqrt(fan_in))^2). The encoders start small because a fresh
    # sparse model's residual is small (std ~0.02): at gain 1 the encoder NMSE began near 7 and
    # reached 39 by step 4, drowning the other terms under the gradient clip.
    encoder_init_gain: float = 0.01
    decoder_init_gain: float = 1.0
    lm_coef: float = 1.0  # the sparse model's own next-token loss
    nmse_encoder_coef: float = 1.0  # f_i(h_dense) vs h_sparse, mean over locations
    nmse_decoder_coef: float = 1.0  # g_i(h_sparse) vs h_dense, mean over locations
    kl_dense_to_sparse_coef: float = 1.0  # dense prefix -> encode -> sparse suffix
    kl_sparse_to_dense_coef: float = 1.0  # sparse prefix -> decode -> dense suffix
    # Hybrid passes per direction per step, at locations drawn from (seed, step); 0 = every
    # location. One location per direction: 1.85x the time of an unbridged step (docs/bridges.md).
    hybrid_locations: int = 1

    def validate(self) -> None:
        """Raise UserError if a value is out of range."""
        conf.check_values(self, BRIDGE_TABLE, BRIDGE_RULES)


BRIDGE_RULES: conf.Rules = {
    "encoder_afrac": conf.between(0, 1),
    "encoder_init_gain": conf.positive(),
    "decoder_init_gain": conf.positive(),
    "lm_coef": conf.at_least(0),
    "nmse_encoder_coef": conf.at_least(0),
    "nmse_decoder_coef": conf.at_least(0),
    "kl_dense_to_sparse_coef": conf.at_least(0),
    "kl_sparse_to_dense_coef": conf.at_least(0),
    "hybrid_locations": conf.at_least(0),
}


def bridge_config(run_config: RunConfig, source: str) -> BridgeConfig:
    """The [bridge] table of a run config as a checked BridgeConfig (defaults where absent)."""
    cfg = conf.from_table(
        BridgeConfig, run_config.extra.get(BRIDGE_TABLE, {}), BRIDGE_TABLE, source
    )
    cfg.validate()
    return cfg


def parse_bridge_sets(overrides: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split `--set` strings into the model/train ones and the bridge.KEY=VALUE ones (checked keys)."""
    plain, bridge = [], []
    for item in overrides:
        (bridge if item.strip().startswith(f"{BRIDGE_TABLE}.") else plain).append(item)
    sets = conf.parse_sets(bridge, {BRIDGE_TABLE: BridgeConfig})
    return plain, sets[BRIDGE_TABLE]
