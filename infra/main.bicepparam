// Parameters for infra/main.bicep. `azd up` reads this file and sets AZURE_ENV_NAME and
// AZURE_LOCATION; with the Azure CLI, export them or edit the defaults:
//   az deployment sub create --name ipsync --location westeurope --parameters infra/main.bicepparam
// Every parameter of main.bicep not set here keeps its default (see docs/operators-guide.md).
using './main.bicep'

param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param resourceGroupName = 'rg-${readEnvironmentVariable('AZURE_ENV_NAME', 'ipsync')}'
param tags = {
  app: 'ipsync'
  'azd-env-name': readEnvironmentVariable('AZURE_ENV_NAME', 'ipsync')
}

// Start safe: every run, scheduled or not, only plans until you set this to false.
param dryRun = true
param schedule = '0 30 4 * * *'
param source = 'download'
param targets = '[]'
param discoverTag = 'ipsync'
param maxRemoveRatio = '0.3'
param allowForce = false

// Only the actions the enabled kinds need: add 'storage', 'keyvault', 'acr', 'sql',
// 'ipgroup' or 'discovery' as you use them.
param kinds = ['nsg', 'discovery']
param roleScope = 'subscription'

param instanceMemoryMB = 2048
param maximumInstanceCount = 2

// Off when empty: a Key Vault secret URI holding the webhook URL, an action group id.
param notifyUrlSecretUri = ''
param notifyFormat = 'json'
param alertActionGroupId = ''
