-- How each host runs its instances, as its agent last said: the driver
-- (qemu, sim) and the accelerator (kvm, tcg; none for a simulation).
ALTER TABLE hosts ADD COLUMN hypervisor_driver TEXT;
ALTER TABLE hosts ADD COLUMN hypervisor_accel TEXT;
