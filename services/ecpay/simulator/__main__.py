"""`python -m services.ecpay.simulator` runs the simulator like `fluxus ecpay-sim`."""

from services.ecpay.simulator.cli import ecpay_sim

if __name__ == "__main__":
    ecpay_sim(prog_name="ecpay-sim")
