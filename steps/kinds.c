/*
 * The table of Step kinds.  Adding a kind means one file in steps/, one
 * declaration in steps/kinds.h and one row here.
 */
#include "steps/kinds.h"

const struct step_kind *const step_kinds[] = {
	&step_sysctl,
	&step_apt_package,
	&step_disable_unattended_upgrades,
	&step_file,
	&step_systemd_unit,
	&step_dataplane,
	&step_bird_config,
	&step_anycast,
	&step_keeper_self,
	NULL,
};
