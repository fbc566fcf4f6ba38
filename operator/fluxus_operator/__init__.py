"""The Fluxus Kopf operator: Plan custom resources → plans table and renewal CronJobs."""
