// Flex Consumption plan and the ipsync Function App (Linux, Python), with a system-assigned
// identity that reaches its storage and Application Insights without keys.

param planName string
param appName string
param location string
param tags object = {}

@description('Storage account holding AzureWebJobsStorage, the deployment package and the run history.')
param storageAccountName string

@description('Blob container the deployment package is uploaded to.')
param deploymentContainerName string

param appInsightsName string

@allowed(['3.11', '3.12'])
param pythonVersion string = '3.12'

@description('Memory per instance; 2048 MB keeps a full feed parse comfortable.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Scale-out ceiling; the sync is serialised by a lease, so few instances suffice.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 2

@description('ipsync settings (IPSYNC_*), merged with the host settings below.')
param appSettings object

@description('More app settings by name; the host settings and appSettings win over a name given twice.')
param extraSettings object = {}

// Built-in role ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Host settings: identity-based AzureWebJobsStorage and keyless telemetry. The queue URI is
// the account's own endpoint, so it is right in every cloud; queue triggers and the app's
// run queue (ipsync-runs) use it.
var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(union(extraSettings, hostSettings, appSettings)): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Basic-auth publishing (FTP and the SCM/Kudu site with a user name and password) stays off:
// the publish commands in docs/operators-guide.md sign in with Entra ID, so no password can
// deploy code.
resource publishingCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = [
  for policy in ['ftp', 'scm']: {
    parent: app
    name: policy
    properties: {
      allow: false
    }
  }
]

// The host keeps timer schedules, locks and keys in blobs; ipsync adds its run history and
// lease blob; Flex pulls the deployment package: Blob Data Owner on this one account.
resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Manual runs go through the ipsync-runs queue: send, receive and delete messages, and move
// a message that keeps failing to ipsync-runs-poison. No table role: nothing uses tables.
resource storageQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Needed to send telemetry with Entra ID auth (local auth is disabled on the component).
resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, app.id, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
output principalId string = app.identity.principalId
