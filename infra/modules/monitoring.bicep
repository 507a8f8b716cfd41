// Log Analytics workspace and workspace-based Application Insights. Local (key) auth is off:
// the app sends telemetry with its managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
// Optionally a log alert that fires when a run fails or is refused.

param logAnalyticsName string
param appInsightsName string
param location string
param tags object = {}

@description('Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Action group to notify when a run fails or is refused. Empty: no alert rule.')
param alertActionGroupId string = ''

// sync/app/telemetry.py logs one trace per run ("run <id> failed ...", custom dimension
// outcome) and one per target (custom dimension status); a refused target also fails its run.
// One row per bad run, so the alert counts runs, not log lines.
var failedRunsQuery = '''
traces
| where tostring(customDimensions.outcome) == "failed"
    or tostring(customDimensions.status) in ("failed", "refused")
| summarize lines = count() by runId = tostring(customDimensions.run_id)
'''

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
output connectionString string = appInsights.properties.ConnectionString

resource failedRunAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = if (!empty(alertActionGroupId)) {
  name: 'alert-${appInsightsName}-failed-runs'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'ipsync: a run failed or was refused'
    description: 'A sync run ended failed, or a target was refused by a guard or failed. Read the run report: GET /api/runs/<run id>.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    // A daily timer plus occasional manual runs: hourly evaluation is soon enough.
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: failedRunsQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    // Each bad run is its own event: no "resolved" notice an hour later.
    autoMitigate: false
    actions: {
      actionGroups: [
        alertActionGroupId
      ]
    }
  }
}
